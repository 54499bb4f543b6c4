"""Sitemaps (sitemaps.org 0.9), the Google News sitemap and robots.txt: pure renderers.

A sitemap holds at most 50,000 URLs, so article URLs are split into pages
counted from the oldest article (like the feed archives): a full page keeps
its URLs for good and only the newest page grows. /sitemap.xml is the index
that lists the pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
URLS_PER_SITEMAP = 50_000  # the protocol's limit per file
NEWS_DAYS = 2  # Google News reads articles of the last two days
NEWS_MAX_URLS = 1000  # and at most this many per news sitemap
MEDIA_TYPE = "application/xml; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Loc:
    """One URL of a sitemap (or one sitemap of an index) with its last change."""

    url: str
    modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewsLoc:
    """One article of the news sitemap."""

    url: str
    published: datetime
    title: str


def w3c_time(moment: datetime) -> str:
    """W3C Datetime with seconds and the offset, as both schemas accept."""
    return moment.replace(microsecond=0).isoformat()


def page_count(urls: int) -> int:
    return max(1, -(-urls // URLS_PER_SITEMAP))


def page_slice(total: int, page: int) -> tuple[int, int]:
    """Start and end (oldest-first positions) of a page; page 1 holds the oldest URLs."""
    per_page = URLS_PER_SITEMAP
    if not 1 <= page <= page_count(total):
        raise LookupError(page)
    start = (page - 1) * per_page
    return start, min(total, start + per_page)


def _document(root: etree._Element) -> bytes:
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True,  # type: ignore[no-any-return]
                          pretty_print=True)


def _locs(root_tag: str, item_tag: str, locs: Sequence[Loc]) -> bytes:
    root = etree.Element(f"{{{SITEMAP_NS}}}{root_tag}", nsmap={None: SITEMAP_NS})
    for loc in locs:
        item = etree.SubElement(root, f"{{{SITEMAP_NS}}}{item_tag}")
        etree.SubElement(item, f"{{{SITEMAP_NS}}}loc").text = loc.url
        if loc.modified is not None:
            etree.SubElement(item, f"{{{SITEMAP_NS}}}lastmod").text = w3c_time(loc.modified)
    return _document(root)


def render_index(sitemaps: Sequence[Loc]) -> bytes:
    return _locs("sitemapindex", "sitemap", sitemaps)


def render_urlset(locs: Sequence[Loc]) -> bytes:
    return _locs("urlset", "url", locs)


def render_news(locs: Sequence[NewsLoc], publication: str, language: str = "ru") -> bytes:
    """Google News sitemap: the publication's name and language on every article."""
    root = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS, "news": NEWS_NS})
    for loc in locs[:NEWS_MAX_URLS]:
        url = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        etree.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = loc.url
        news = etree.SubElement(url, f"{{{NEWS_NS}}}news")
        source = etree.SubElement(news, f"{{{NEWS_NS}}}publication")
        etree.SubElement(source, f"{{{NEWS_NS}}}name").text = publication
        etree.SubElement(source, f"{{{NEWS_NS}}}language").text = language
        etree.SubElement(news, f"{{{NEWS_NS}}}publication_date").text = w3c_time(loc.published)
        etree.SubElement(news, f"{{{NEWS_NS}}}title").text = loc.title
    return _document(root)


def render_robots(sitemap_urls: Sequence[str], private_paths: Sequence[str]) -> bytes:
    """Everything may be crawled but the private pages; the sitemaps are named."""
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in private_paths), "Allow: /", ""]
    lines += [f"Sitemap: {url}" for url in sitemap_urls]
    return ("\n".join(lines) + "\n").encode()
