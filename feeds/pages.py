"""HTML pages and the OPML subscription list, cached like the feeds."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, redirect, render_template
from flask.typing import ResponseReturnValue

from . import structured
from .formats import FORMATS, HTML_TYPE, OPML_TYPE
from .http import Rendered
from .model import NotFound
from .opml import Outline, render_opml
from .respond import (
    base_url,
    entries_modified,
    feeds_state,
    filename_parts,
    released_entry,
    send,
    urls,
)
from .snapshot import Snapshot
from .urls import (
    ARTICLE_EXTENSION,
    ARTICLE_RULE,
    FAVICON_RULE,
    HOME_RULE,
    LISTING_PAGE_SIZE,
    OLDER_RULE,
    OPML_RULES,
    RUBRIC_BARE_RULE,
    RUBRIC_OLDER_RULE,
    RUBRIC_RULE,
    Urls,
    front_older_page,
    listing_pages,
    listing_slice,
    static_path,
)

FRONT_PAGE_SIZE = LISTING_PAGE_SIZE


def _feed_links(u: Urls, name: str, title: str) -> list[dict[str, str]]:
    return [
        {"href": u.feed(name, fmt.extension), "format": fmt.label, "title": title,
         "type": fmt.media_type}
        for fmt in FORMATS.values()
    ]


def chrome(u: Urls) -> dict[str, object]:
    """The links every page's frame shows."""
    return {"home": u.page("all"), "opml": u.opml("rss"), "icon": u.base + static_path("icon.png"),
            "search": u.search(),
            "favicon": u.base + FAVICON_RULE,
            "opmls": [{"href": u.opml(fmt.extension), "format": fmt.label}
                      for fmt in FORMATS.values()]}


def _rubric_links(snapshot: Snapshot, u: Urls, now: float) -> list[dict[str, Any]]:
    publisher = feeds_state().publisher
    return [{"name": snapshot.rubrics[s], "slug": s, "url": u.page(s),
             "feeds": _feed_links(u, s, publisher.feed_title(snapshot, s))}
            for s in snapshot.rubric_slugs(now)]


def _listing(name: str, page: int | None = None) -> Rendered:
    """The front page (name "all") or a rubric page, or one of their older-news pages."""
    state = feeds_state()
    snapshot = state.store.snapshot
    now = time.time()
    slug = None if name == "all" else name
    if slug is not None and not snapshot.has_rubric(slug, now):
        raise NotFound(name)
    released = snapshot.released(slug, now)
    pages = listing_pages(len(released))
    if page is not None and not 1 <= page <= pages:
        raise NotFound(f"{name} page {page}")
    base = base_url()
    key = ("page", name, page, base, snapshot.generation, snapshot.embargoed_count(None, now))

    def build() -> Rendered:
        u = urls()
        if page is None:
            entries = list(released[:FRONT_PAGE_SIZE])
            older = front_older_page(len(released))
            canonical, newer = u.page(name), None
        else:  # numbered from the oldest: older is lower, the newest leads back to the front
            entries = list(released[listing_slice(len(released), page)])
            older = page - 1 if page > 1 else None
            canonical = u.listing(name, page)
            newer = u.listing(name, page + 1) if page < pages else u.page(name)
        title = state.publisher.feed_title(snapshot, name)
        html = render_template(
            "listing.html", title=title, site_title=state.settings.site_title,
            **chrome(u), feeds=_feed_links(u, name, title),
            rubrics=_rubric_links(snapshot, u, now), current=name, page=page,
            canonical=canonical, newer=newer,
            older=u.listing(name, older) if older is not None else None,
            articles=[{"entry": e, "title": title, "url": u.article(e),
                       "rubric_url": u.page(e.slug)}
                      for e, title in zip(entries, state.store.titles(entries), strict=True)],
        )
        return Rendered(html.encode(), HTML_TYPE, entries_modified(entries),
                        state.settings.max_age)

    return state.publisher.cached(key, build)


def front_page() -> ResponseReturnValue:
    return send(_listing("all"))


def rubric_redirect(slug: str) -> ResponseReturnValue:
    """/sport leads to /sport/; unknown names are plain 404s, not redirects."""
    if not feeds_state().store.snapshot.has_rubric(slug, time.time()):
        raise NotFound(slug)
    return redirect(urls().page(slug), 308)


def rubric_page(slug: str) -> ResponseReturnValue:
    return send(_listing(slug))


def older_page(page: int, slug: str = "all") -> ResponseReturnValue:
    """/page/N/ and /<slug>/page/N/: older news, page 1 the oldest full page."""
    return send(_listing(slug, page))


def article_page(filename: str) -> ResponseReturnValue:
    stem, extension = filename_parts(filename)
    if extension != ARTICLE_EXTENSION:
        raise NotFound(filename)
    entry = released_entry(stem)
    state = feeds_state()
    snapshot = state.store.snapshot
    base = base_url()
    now = time.time()
    key = ("article", entry, base, tuple(snapshot.rubric_slugs(now)))

    def build() -> Rendered:
        u = urls()
        items = state.publisher.items(snapshot, [entry], u)
        if not items:
            raise NotFound(entry.id)
        item = items[0]
        # The agency's own page is the canonical one when FEEDS_ARTICLE_URL is set.
        canonical = u.article(entry)
        site = state.settings.site_title
        publisher = structured.Publisher(site, u.page("all"), u.static("logo.png"))
        html = render_template(
            "article.html", item=item, site_title=site, **chrome(u),
            rubric_url=u.page(entry.slug), canonical=canonical,
            rubrics=_rubric_links(snapshot, u, now),
            open_graph=structured.open_graph(item, canonical, site),
            json_ld=structured.json_ld(structured.news_article(item, canonical, publisher)),
            feeds=_feed_links(u, entry.slug, state.publisher.feed_title(snapshot, entry.slug)))
        return Rendered(html.encode(), HTML_TYPE, entries_modified([entry]),
                        state.settings.max_age)

    return send(state.publisher.cached(key, build))


def opml(fmt: str = "rss") -> ResponseReturnValue:
    """OPML 2.0 with every rubric's feed in one format, to subscribe to all at once."""
    state = feeds_state()
    snapshot = state.store.snapshot
    now = time.time()
    base = base_url()
    key = ("opml", fmt, base, snapshot.generation, snapshot.embargoed_count(None, now))

    def build() -> Rendered:
        u = urls()
        entries = snapshot.released(None, now)
        outlines = [Outline(state.publisher.feed_title(snapshot, slug), u.feed(slug, fmt),
                            u.page(slug)) for slug in snapshot.rubric_slugs(now)]
        data = render_opml(state.settings.site_title, fmt, outlines,
                           entries[0].published if entries else None)
        return Rendered(data, OPML_TYPE,
                        entries_modified(list(entries[:1])), state.settings.max_age)

    return send(state.publisher.cached(key, build))


def init_app(app: Flask) -> None:
    app.add_url_rule(HOME_RULE, view_func=front_page)
    for fmt, rule in OPML_RULES.items():
        app.add_url_rule(rule, f"opml_{fmt}", view_func=opml, defaults={"fmt": fmt})
    app.add_url_rule(RUBRIC_RULE, view_func=rubric_page)
    app.add_url_rule(OLDER_RULE, view_func=older_page)
    app.add_url_rule(RUBRIC_OLDER_RULE, view_func=older_page)
    app.add_url_rule(RUBRIC_BARE_RULE, view_func=rubric_redirect)
    app.add_url_rule(ARTICLE_RULE, view_func=article_page)
