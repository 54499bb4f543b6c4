"""What search engines fetch besides pages: robots.txt, sitemaps, the favicon.

Article URLs go into the sitemaps only while the article pages are the
canonical ones: with FEEDS_ARTICLE_URL set, the agency's site owns them (the
pages here name it as canonical) and the sitemaps list the front and rubric
pages alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app, send_from_directory
from flask.typing import ResponseReturnValue

from .http import Rendered
from .model import Entry, NotFound
from .publish import last_modified
from .respond import base_url, feeds_state, send, urls
from .sitemaps import (
    MEDIA_TYPE,
    NEWS_DAYS,
    NEWS_MAX_URLS,
    Loc,
    NewsLoc,
    page_count,
    page_slice,
    render_index,
    render_news,
    render_robots,
    render_urlset,
)
from .snapshot import Snapshot
from .urls import (
    ARTICLES_SITEMAP_RULE,
    FAVICON_RULE,
    NEWS_SITEMAP_RULE,
    PAGES_SITEMAP_RULE,
    PRIVATE_PATHS,
    ROBOTS_RULE,
    SITEMAP_RULE,
    articles_sitemap_path,
)


def _articles_listed(snapshot: Snapshot, now: float) -> tuple[Entry, ...]:
    """Released articles, oldest first, when this service holds their canonical pages."""
    if feeds_state().settings.article_url:
        return ()
    return tuple(reversed(snapshot.released(None, now)))


def _cached(build: Callable[[], tuple[bytes, datetime]], *key: object) -> Rendered:
    """Built once per store version (and key); the build returns bytes and Last-Modified."""
    state = feeds_state()
    snapshot = state.store.snapshot
    now = time.time()
    full_key = ("sitemap", base_url(), snapshot.generation, snapshot.embargoed_count(None, now),
                *key)

    def rendered() -> Rendered:
        body, modified = build()
        return Rendered(body, MEDIA_TYPE, modified, state.settings.max_age)

    return state.publisher.cached(full_key, rendered)


def sitemap_index() -> ResponseReturnValue:
    snapshot = feeds_state().store.snapshot
    now = time.time()
    articles = _articles_listed(snapshot, now)
    released = snapshot.released(None, now)
    u = urls()
    newest = last_modified(released[:1])  # in the bytes: entries only, as the export signs

    def build() -> tuple[bytes, datetime]:
        locs = [Loc(u.base + PAGES_SITEMAP_RULE, newest)]
        if articles:
            for page in range(1, page_count(len(articles)) + 1):
                start, end = page_slice(len(articles), page)
                locs.append(Loc(u.base + articles_sitemap_path(page),
                                last_modified(articles[start:end])))
            locs.append(Loc(u.base + NEWS_SITEMAP_RULE, newest))
        return render_index(locs), newest

    return send(_cached(build, "index"))


def sitemap_pages() -> ResponseReturnValue:
    snapshot = feeds_state().store.snapshot
    now = time.time()
    u = urls()
    names = ["all", *snapshot.rubric_slugs(now)]
    newest = last_modified(snapshot.released(None, now)[:1])

    def build() -> tuple[bytes, datetime]:
        return render_urlset([
            Loc(u.page(name),
                last_modified(snapshot.released(None if name == "all" else name, now)[:1]))
            for name in names]), newest

    return send(_cached(build, "pages"))


def sitemap_articles(page: int) -> ResponseReturnValue:
    snapshot = feeds_state().store.snapshot
    articles = _articles_listed(snapshot, time.time())
    try:
        start, end = page_slice(len(articles), page)
    except LookupError:
        raise NotFound(f"sitemap {page}") from None
    chosen = articles[start:end]
    if not chosen:
        raise NotFound(f"sitemap {page}")
    u = urls()

    def build() -> tuple[bytes, datetime]:
        locs = [Loc(u.local_article(e.id), last_modified([e])) for e in chosen]
        return render_urlset(locs), last_modified(chosen)

    return send(_cached(build, "articles", page))


def sitemap_news() -> ResponseReturnValue:
    """Articles of the last two days; the hour is in the key, as they age out."""
    state = feeds_state()
    snapshot = state.store.snapshot
    now = time.time()
    if state.settings.article_url:
        raise NotFound("news sitemap")  # the agency's site owns the article URLs
    oldest = now - NEWS_DAYS * 86400
    recent = [e for e in snapshot.released(None, now)[:NEWS_MAX_URLS] if e.timestamp >= oldest]
    u = urls()

    def build() -> tuple[bytes, datetime]:
        titles = state.store.titles(recent)
        locs = [NewsLoc(u.local_article(e.id), e.published, title)
                for e, title in zip(recent, titles, strict=True)]
        return (render_news(locs, state.settings.site_title),
                last_modified(recent, snapshot.changed_ns))

    return send(_cached(build, "news", int(now // 3600)))


def robots() -> ResponseReturnValue:
    u = urls()
    sitemaps = [u.base + SITEMAP_RULE]
    if not feeds_state().settings.article_url:
        sitemaps.append(u.base + NEWS_SITEMAP_RULE)
    body = render_robots(sitemaps, PRIVATE_PATHS)
    snapshot = feeds_state().store.snapshot
    return send(Rendered(body, "text/plain; charset=utf-8",
                         last_modified((), snapshot.changed_ns),
                         feeds_state().settings.max_age))


def favicon() -> ResponseReturnValue:
    return send_from_directory(current_app.static_folder or "", "favicon.ico",
                               mimetype="image/vnd.microsoft.icon",
                               max_age=feeds_state().settings.max_age)


def init_app(app: Flask) -> None:
    app.add_url_rule(ROBOTS_RULE, view_func=robots)
    app.add_url_rule(FAVICON_RULE, view_func=favicon)
    app.add_url_rule(SITEMAP_RULE, view_func=sitemap_index)
    app.add_url_rule(NEWS_SITEMAP_RULE, view_func=sitemap_news)
    app.add_url_rule(PAGES_SITEMAP_RULE, view_func=sitemap_pages)
    app.add_url_rule(ARTICLES_SITEMAP_RULE, view_func=sitemap_articles)
