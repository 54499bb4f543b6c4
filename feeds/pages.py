"""HTML pages and the OPML subscription list, cached like the feeds."""

from __future__ import annotations

import time
from xml.etree import ElementTree as ET

from flask import Flask, Response, redirect, render_template
from flask.typing import ResponseReturnValue

from .http import Rendered
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


def opml() -> ResponseReturnValue:
    """OPML 2.0 with every feed, so a reader can subscribe to all rubrics at once."""
    state = feeds_state()
    snapshot = state.store.snapshot
    now = time.time()
    base = base_url()
    key = ("opml", base, snapshot.generation, snapshot.embargoed_count(None, now))

    def build() -> Rendered:
        u = urls()
        root = ET.Element("opml", version="2.0")
        head = ET.SubElement(root, "head")
        ET.SubElement(head, "title").text = f"{state.settings.site_title}: все ленты"
        entries = snapshot.released(None, now)
        if entries:
            created = entries[0].published.strftime("%a, %d %b %Y %H:%M:%S %z")
            ET.SubElement(head, "dateModified").text = created
        body = ET.SubElement(root, "body")
        for name in ["all", *snapshot.rubric_slugs(now)]:
            title = state.publisher.feed_title(snapshot, name)
            group = ET.SubElement(body, "outline", text=title)
            for fmt in RENDERERS:
                # OPML knows only RSS versions; Atom and JSON Feed go without one.
                outline = ET.SubElement(group, "outline", type="rss",
                                        text=f"{title} ({FEED_TITLES[fmt]})", title=title,
                                        xmlUrl=u.feed(name, fmt), htmlUrl=u.page(name))
                if fmt == "rss":
                    outline.set("version", "RSS2")
        ET.indent(root)
        data = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
        return Rendered(data, "text/x-opml; charset=utf-8",
                        entries_modified(list(entries[:1])), state.settings.max_age)

    return send(state.publisher.cached(key, build))


def init_app(app: Flask) -> None:
    app.add_url_rule("/", view_func=index)
    app.add_url_rule("/feeds.opml", view_func=opml)
    app.add_url_rule("/<slug>/", view_func=rubric_page)
    app.add_url_rule("/<slug>", view_func=rubric_redirect)
    app.add_url_rule("/articles/<filename>", view_func=article_page)
