"""HTML pages and the OPML subscription list, cached like the feeds."""

from __future__ import annotations

import time

from flask import Flask, redirect, render_template
from flask.typing import ResponseReturnValue

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
from .urls import (
    ARTICLE_EXTENSION,
    ARTICLE_RULE,
    HOME_RULE,
    OPML_RULES,
    RUBRIC_BARE_RULE,
    RUBRIC_RULE,
    Urls,
    static_path,
)

FRONT_PAGE_SIZE = 30


def _feed_links(u: Urls, name: str, title: str) -> list[dict[str, str]]:
    return [
        {"href": u.feed(name, fmt.extension), "format": fmt.label, "title": title,
         "type": fmt.media_type}
        for fmt in FORMATS.values()
    ]


def _chrome(u: Urls) -> dict[str, object]:
    """The links every page's frame shows."""
    return {"home": u.page("all"), "opml": u.opml("rss"), "icon": static_path("icon.png"),
            "opmls": [{"href": u.opml(fmt.extension), "format": fmt.label}
                      for fmt in FORMATS.values()]}


def _listing(name: str) -> Rendered:
    """The front page (name "all") or a rubric page: latest articles and feed links."""
    state = feeds_state()
    snapshot = state.store.snapshot
    now = time.time()
    slug = None if name == "all" else name
    if slug is not None and slug not in snapshot.by_slug:
        raise NotFound(name)
    base = base_url()
    key = ("page", name, base, snapshot.generation, snapshot.embargoed_count(None, now))

    def build() -> Rendered:
        u = urls()
        entries = list(snapshot.released(slug, now)[:FRONT_PAGE_SIZE])
        title = state.publisher.feed_title(snapshot, name)
        rubrics = [{"name": snapshot.rubrics[s], "slug": s, "url": u.page(s),
                    "feeds": _feed_links(u, s, state.publisher.feed_title(snapshot, s))}
                   for s in snapshot.rubric_slugs(now)]
        html = render_template(
            "listing.html", title=title, site_title=state.settings.site_title,
            **_chrome(u), feeds=_feed_links(u, name, title),
            rubrics=rubrics, current=name,
            articles=[{"entry": e, "url": u.article(e), "rubric_url": u.page(e.slug)}
                      for e in entries],
        )
        return Rendered(html.encode(), HTML_TYPE, entries_modified(entries),
                        state.settings.max_age)

    return state.publisher.cached(key, build)


def front_page() -> ResponseReturnValue:
    return send(_listing("all"))


def rubric_redirect(slug: str) -> ResponseReturnValue:
    """/sport leads to /sport/; unknown names are plain 404s, not redirects."""
    if slug not in feeds_state().store.snapshot.by_slug:
        raise NotFound(slug)
    return redirect(urls().page(slug), 308)


def rubric_page(slug: str) -> ResponseReturnValue:
    return send(_listing(slug))


def article_page(filename: str) -> ResponseReturnValue:
    stem, extension = filename_parts(filename)
    if extension != ARTICLE_EXTENSION:
        raise NotFound(filename)
    entry = released_entry(stem)
    state = feeds_state()
    snapshot = state.store.snapshot
    base = base_url()
    key = ("article", entry, base)

    def build() -> Rendered:
        u = urls()
        items = state.publisher.items(snapshot, [entry], u)
        if not items:
            raise NotFound(entry.id)
        html = render_template("article.html", item=items[0], site_title=state.settings.site_title,
                               **_chrome(u), rubric_url=u.page(entry.slug),
                               feeds=_feed_links(u, entry.slug,
                                                 state.publisher.feed_title(snapshot, entry.slug)))
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
    app.add_url_rule(RUBRIC_BARE_RULE, view_func=rubric_redirect)
    app.add_url_rule(ARTICLE_RULE, view_func=article_page)
