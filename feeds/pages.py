"""HTML pages and the OPML subscription list, cached like the feeds."""

from __future__ import annotations

import time

from flask import Flask, Response, redirect, render_template
from flask.typing import ResponseReturnValue

from .http import Rendered
from .opml import OPML_PATHS, Outline, render_opml
from .publish import Urls
from .render import RENDERERS
from .web import (
    base_url,
    entries_modified,
    feeds_state,
    released_entry,
    send,
    split_filename,
    urls,
)

FRONT_PAGE_SIZE = 30
FEED_TITLES = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}


def _feed_links(u: Urls, name: str, title: str) -> list[dict[str, str]]:
    return [
        {"href": u.feed(name, fmt), "format": FEED_TITLES[fmt], "title": title,
         "type": {"rss": "application/rss+xml", "atom": "application/atom+xml",
                  "json": "application/feed+json"}[fmt]}
        for fmt in RENDERERS
    ]


def _listing(name: str) -> Rendered:
    """The front page (name "all") or a rubric page: latest articles and feed links."""
    state = feeds_state()
    snapshot = state.store.snapshot
    now = time.time()
    slug = None if name == "all" else name
    if slug is not None and slug not in snapshot.by_slug:
        raise LookupError(name)
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
            home=u.page("all"), opml=f"{u.base}/feeds.opml", feeds=_feed_links(u, name, title),
            rubrics=rubrics, current=name,
            articles=[{"entry": e, "url": u.article(e), "rubric_url": u.page(e.slug)}
                      for e in entries],
        )
        return Rendered(html.encode(), "text/html; charset=utf-8", entries_modified(entries),
                        state.settings.max_age)

    return state.publisher.cached(key, build)


def index() -> ResponseReturnValue:
    return send(_listing("all"))


def rubric_redirect(slug: str) -> ResponseReturnValue:
    """/sport leads to /sport/; unknown names are plain 404s, not redirects."""
    if slug not in feeds_state().store.snapshot.by_slug:
        return Response("Not found.\n", 404, mimetype="text/plain")
    return redirect(urls().page(slug), 308)


def rubric_page(slug: str) -> ResponseReturnValue:
    try:
        return send(_listing(slug))
    except LookupError:
        return Response("Not found.\n", 404, mimetype="text/plain")


def article_page(filename: str) -> ResponseReturnValue:
    stem, extension = split_filename(filename)
    if extension != "html":
        return Response("Not found.\n", 404, mimetype="text/plain")
    entry = released_entry(stem)
    state = feeds_state()
    snapshot = state.store.snapshot
    base = base_url()
    key = ("article", entry, base)

    def build() -> Rendered:
        u = urls()
        items = state.publisher.items(snapshot, [entry], u)
        if not items:
            raise LookupError(entry.id)
        html = render_template("article.html", item=items[0], site_title=state.settings.site_title,
                               home=u.page("all"), rubric_url=u.page(entry.slug),
                               feeds=_feed_links(u, entry.slug,
                                                 state.publisher.feed_title(snapshot, entry.slug)))
        return Rendered(html.encode(), "text/html; charset=utf-8", entries_modified([entry]),
                        state.settings.max_age)

    try:
        return send(state.publisher.cached(key, build))
    except LookupError:
        return Response("Not found.\n", 404, mimetype="text/plain")


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
        return Rendered(data, "text/x-opml; charset=utf-8",
                        entries_modified(list(entries[:1])), state.settings.max_age)

    return send(state.publisher.cached(key, build))


def init_app(app: Flask) -> None:
    app.add_url_rule("/", view_func=index)
    for fmt, path in OPML_PATHS.items():
        app.add_url_rule(path, f"opml_{fmt}", view_func=opml, defaults={"fmt": fmt})
    app.add_url_rule("/<slug>/", view_func=rubric_page)
    app.add_url_rule("/<slug>", view_func=rubric_redirect)
    app.add_url_rule("/articles/<filename>", view_func=article_page)
