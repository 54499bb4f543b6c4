"""Every URL the service publishes, in one place (datasette's url_builder).

Path shapes, the Flask rules that parse them back, the list of every feed URL
of a rubric (for WebSub pings) and of every path (for the static export) all
live here. A new URL is a shape here plus its view.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, urlencode

from .flavours import FLAVOURS
from .formats import FORMATS
from .model import Entry
from .sitemaps import page_count
from .snapshot import Snapshot

# The Flask rules, each next to the path shape it parses.
HOME_RULE = "/"
RUBRIC_RULE = "/<slug>/"
RUBRIC_BARE_RULE = "/<slug>"  # redirected to RUBRIC_RULE
FEED_RULE = "/feeds/<filename>"  # <name>.<fmt>, and the all-rubric flavours <flavour>.rss
ARCHIVE_RULE = "/feeds/<name>/archive/<filename>"  # <page>.<fmt>
FLAVOUR_RULE = "/feeds/<flavour>/<filename>"  # <slug>.rss
ARTICLE_RULE = "/articles/<filename>"  # <id>.html
PHOTO_RULE = "/photos/<filename>"  # <id>.<extension>, or _default.<extension>
OLDER_RULE = "/page/<int:page>/"  # older news of the front page, page 1 the oldest
RUBRIC_OLDER_RULE = "/<slug>/page/<int:page>/"
ROBOTS_RULE = "/robots.txt"
SEARCH_RULE = "/search"  # ?q=, &rubric=<slug>, &page=N
FAVICON_RULE = "/favicon.ico"
SITEMAP_RULE = "/sitemap.xml"  # the sitemap index
NEWS_SITEMAP_RULE = "/sitemap-news.xml"
SITEMAPS_FOLDER = "/sitemaps/"
PAGES_SITEMAP_RULE = f"{SITEMAPS_FOLDER}pages.xml"
ARTICLES_SITEMAP_RULE = f"{SITEMAPS_FOLDER}articles-<int:page>.xml"
METRICS_RULE = "/metrics"  # private: FEEDS_ADMIN_TOKEN
STATS_RULE = "/stats"  # private: subscriber statistics
PRIVATE_PATHS = (METRICS_RULE, STATS_RULE)
HEALTH_RULE = "/healthz"

ARTICLE_EXTENSION = "html"
LISTING_PAGE_SIZE = 30  # articles on a front or rubric page and on each older page
DEFAULT_PHOTO = "_default"  # the photo name of the store's default image


def _prefix(rule: str) -> str:
    return rule.partition("<")[0]


_FLAVOUR_PREFIXES = tuple(f"{_prefix(FEED_RULE)}{name}" for name in FLAVOURS)


def route_kind(path: str) -> str:
    """What kind of resource a path names, from a small fixed set (bounded metric labels)."""
    if path.startswith(_prefix(FEED_RULE)):
        if "/archive/" in path:
            return "archive"
        return "flavour" if path.startswith(_FLAVOUR_PREFIXES) else "feed"
    for rule, kind in ((ARTICLE_RULE, "article"), (PHOTO_RULE, "photo"),
                       (static_path(""), "static")):
        if path.startswith(_prefix(rule)):
            return kind
    if path.endswith(".opml"):
        return "opml"
    if path.startswith(("/sitemap", ROBOTS_RULE, FAVICON_RULE)):
        return "crawler"
    if path.startswith(PRIVATE_PATHS):
        return "private"
    if path.startswith(HEALTH_RULE):
        return "health"
    return "page"


def older_listing(path: str) -> bool:
    """True for an older-news listing (/page/N/ under the front or a rubric page)."""
    return _prefix(OLDER_RULE) in path


def split_filename(filename: str) -> tuple[str, str] | None:
    """("name", "ext") from "name.ext"; None when there is no stem or no extension."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem:
        return None
    return stem, extension


def feed_path(name: str, fmt: str) -> str:
    return f"/feeds/{name}.{fmt}"


def archive_path(name: str, page: int, fmt: str) -> str:
    return f"/feeds/{name}/archive/{page}.{fmt}"


def flavour_path(flavour: str, name: str) -> str:
    """A flavour of all rubrics sits beside the feeds; a rubric's in the flavour's folder."""
    extension = FLAVOURS[flavour].extension
    if name == "all":
        return f"/feeds/{flavour}.{extension}"
    return f"/feeds/{flavour}/{name}.{extension}"


def opml_path(fmt: str) -> str:
    """Each format's OPML; the plain name is RSS, which every reader takes."""
    return "/feeds.opml" if fmt == "rss" else f"/feeds-{fmt}.opml"


OPML_RULES = {fmt: opml_path(fmt) for fmt in FORMATS}


def page_path(name: str) -> str:
    return "/" if name == "all" else f"/{name}/"


def listing_path(name: str, page: int) -> str:
    """Older news: /page/N/ under the front or rubric page, numbered from the oldest."""
    return f"{page_path(name)}page/{page}/"


def listing_pages(count: int) -> int:
    """Only full pages, counted from the oldest entry: a new article moves none of them.

    The newest count % LISTING_PAGE_SIZE entries are on the front or rubric page only.
    """
    return count // LISTING_PAGE_SIZE


def listing_slice(count: int, page: int) -> slice:
    """Page N's entries in a newest-first list of count entries."""
    return slice(count - page * LISTING_PAGE_SIZE, count - (page - 1) * LISTING_PAGE_SIZE)


def front_older_page(count: int) -> int | None:
    """The listing page with the newest entry the front or rubric page no longer shows."""
    return (count - 1) // LISTING_PAGE_SIZE if count > LISTING_PAGE_SIZE else None


def articles_sitemap_path(page: int) -> str:
    return f"{SITEMAPS_FOLDER}articles-{page}.xml"


def article_path(article_id: str) -> str:
    return f"/articles/{quote(article_id)}.{ARTICLE_EXTENSION}"


def photo_path(name: str, extension: str) -> str:
    return f"/photos/{quote(name)}.{extension}"


def static_path(filename: str) -> str:
    return f"/static/{filename}"


# Paths whose clients are programs, not people: feeds, files, sitemaps, private URLs.
_PROGRAM_PREFIXES = (_prefix(FEED_RULE), _prefix(PHOTO_RULE), static_path(""), SITEMAPS_FOLDER,
                     *PRIVATE_PATHS, HEALTH_RULE)
_PROGRAM_SUFFIXES = (*(f".{extension}" for extension in FORMATS), ".opml", ".xml", ".txt",
                     ".ico", ".jpg", ".png", ".webp", ".gif")


def for_programs(path: str) -> bool:
    """True when a path is fetched by programs (feed readers, crawlers, monitors), not people."""
    return path.startswith(_PROGRAM_PREFIXES) or path.endswith(_PROGRAM_SUFFIXES)


def feed_paths(name: str) -> list[str]:
    """Every published feed whose content follows feed `name`: formats, then flavours."""
    return [*(feed_path(name, fmt) for fmt in FORMATS),
            *(flavour_path(flavour, name) for flavour in FLAVOURS)]


def crawler_paths(articles: int, local_articles: bool) -> list[str]:
    """robots.txt, the icon and the sitemaps; article sitemaps only for our own pages."""
    paths = [ROBOTS_RULE, FAVICON_RULE, SITEMAP_RULE, PAGES_SITEMAP_RULE]
    if local_articles:
        if articles:
            paths += [articles_sitemap_path(page) for page in range(1, page_count(articles) + 1)]
        paths.append(NEWS_SITEMAP_RULE)
    return paths


def site_paths(snapshot: Snapshot, now: float, page_size: int,
               static_files: Iterable[str], local_articles: bool = True) -> list[str]:
    """Every path the service answers for this snapshot, for the static export."""
    names = ["all", *snapshot.rubric_slugs(now)]
    paths = [page_path("all"), *OPML_RULES.values(), *(page_path(slug) for slug in names[1:])]
    for name in names:
        released = snapshot.released(None if name == "all" else name, now)
        paths += [listing_path(name, page)
                  for page in range(1, listing_pages(len(released)) + 1)]
        pages = -(-len(released) // page_size)
        for fmt in FORMATS:
            paths.append(feed_path(name, fmt))
            paths += [archive_path(name, page, fmt) for page in range(1, pages + 1)]
    paths += [flavour_path(flavour, "all") for flavour in FLAVOURS]
    paths += [flavour_path(flavour, slug) for flavour in FLAVOURS for slug in names[1:]]
    for entry in snapshot.released(None, now):
        paths.append(article_path(entry.id))
        if entry.photo is not None:
            paths.append(photo_path(entry.id, entry.photo.extension))
    if snapshot.default_photo is not None:
        paths.append(photo_path(DEFAULT_PHOTO, snapshot.default_photo.extension))
    paths += [static_path(name) for name in static_files]
    paths += crawler_paths(len(snapshot.released(None, now)), local_articles)
    return paths


class Urls:
    """Absolute URLs of everything the service publishes, for one public origin."""

    def __init__(self, base: str, article_template: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.article_template = article_template

    def feed(self, name: str, fmt: str) -> str:
        return self.base + feed_path(name, fmt)

    def archive(self, name: str, page: int, fmt: str) -> str:
        return self.base + archive_path(name, page, fmt)

    def flavour(self, flavour: str, name: str) -> str:
        return self.base + flavour_path(flavour, name)

    def feeds_of(self, name: str) -> list[str]:
        """Every feed URL of a rubric (or "all"): what a WebSub hub is told about."""
        return [self.base + path for path in feed_paths(name)]

    def page(self, name: str) -> str:
        return self.base + page_path(name)

    def listing(self, name: str, page: int) -> str:
        return self.base + listing_path(name, page)

    def opml(self, fmt: str) -> str:
        return self.base + opml_path(fmt)

    def article(self, entry: Entry) -> str:
        """The entry's link: the agency's own page when a template is set, else ours."""
        if self.article_template:
            return self.article_template.format(id=quote(entry.id), slug=entry.slug)
        return self.local_article(entry.id)

    def local_article(self, article_id: str) -> str:
        return self.base + article_path(article_id)

    def photo(self, name: str, extension: str) -> str:
        return self.base + photo_path(name, extension)

    def static(self, filename: str) -> str:
        return self.base + static_path(filename)

    def search(self, q: str | None = None, name: str = "all", page: int = 1) -> str:
        """The search page; with q, for that search (of a rubric, from page N)."""
        if q is None:
            return self.base + SEARCH_RULE
        params = {"q": q, **({"rubric": name} if name != "all" else {}),
                  **({"page": str(page)} if page > 1 else {})}
        return f"{self.base}{SEARCH_RULE}?{urlencode(params)}"

    def search_feed(self, q: str, name: str, fmt: str) -> str:
        """A feed of one search, to subscribe to."""
        return f"{self.feed(name, fmt)}?{urlencode({'q': q})}"
