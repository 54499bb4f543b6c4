"""The HTML search page: results of the whole archive with snippets, and feeds to subscribe."""

from __future__ import annotations

import time
from collections.abc import Iterable
from urllib.parse import parse_qs

from flask import Flask, Response, render_template, request
from flask.typing import ResponseReturnValue

from .fastlane import StartResponse, WSGIApp
from .formats import FORMATS, HTML_TYPE
from .http import Rendered
from .model import Entry, InvalidQuery, Query
from .pages import chrome
from .respond import base_url, entries_modified, feeds_state, search_query, send, urls
from .search import SearchBudget, SearchBusy, query_text, snippet
from .urls import SEARCH_RULE, Urls

PAGE_SIZE = 20
MAX_PAGE = 50  # 1,000 results deep: further is a crawler, not a reader
_HOW_TO = ("Введите от одного до 12 слов, не длиннее 200 знаков. Слова в кавычках ищутся"
           " фразой, слово с минусом исключает статьи, где оно есть.")


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidQuery(f"page must be a whole number from 1 to {MAX_PAGE}")
    return int(raw)


def _rubric() -> str:
    """?rubric=<slug> narrows the search to one rubric; "all" or nothing means every one."""
    slug = request.args.get("rubric") or "all"
    if slug != "all" and not feeds_state().store.snapshot.has_rubric(slug, time.time()):
        raise InvalidQuery("no such rubric")
    return slug


def _result(query: Query, entry: Entry, u: Urls) -> dict[str, object] | None:
    article = feeds_state().store.article(entry)
    if article is None:
        return None
    return {"entry": entry, "url": u.article(entry), "rubric_url": u.page(entry.slug),
            "title": snippet(query, article.title, width=len(article.title)),
            "snippet": snippet(query, article.text_without_dateline)}


def _render(q: str, query: Query, name: str, page: int, status: int = 200,
            message: str = "") -> Rendered:
    state = feeds_state()
    snapshot = state.store.snapshot
    now = time.time()
    u = urls()
    results: list[dict[str, object]] = []
    entries: list[Entry] = []
    more = False
    if query:
        slug = None if name == "all" else name
        found = state.publisher.searcher.find(snapshot, query, slug, now, PAGE_SIZE,
                                              offset=(page - 1) * PAGE_SIZE)
        entries, more = list(found.entries), found.more
        results = [r for r in (_result(query, e, u) for e in entries) if r is not None]
    canonical = query_text(query) if query else q
    scope = state.publisher.feed_title(snapshot, name)
    feeds = ([{"href": u.search_feed(canonical, name, fmt.extension), "format": fmt.label,
               "title": f"{scope}: «{canonical}»", "type": fmt.media_type}
              for fmt in FORMATS.values()] if query else [])
    html = render_template(
        "search.html", title=f"Поиск: {canonical}" if canonical else "Поиск",
        site_title=state.settings.site_title, **chrome(u), query=canonical,
        searched=bool(query), rubric=name, scope=scope,
        rubrics=[{"slug": s, "name": snapshot.rubrics[s]} for s in snapshot.rubric_slugs(now)],
        action=u.search(), feeds=feeds, results=results, message=message, page=page,
        newer=u.search(canonical, name, page - 1) if page > 1 and query else None,
        older=u.search(canonical, name, page + 1) if more else None,
    )
    return Rendered(html.encode(), HTML_TYPE, entries_modified(entries),
                    state.settings.max_age if status == 200 else 0)


def search_page() -> ResponseReturnValue:
    """/search?q=...: a bad search is a 400 that still shows the form and says why."""
    q = request.args.get("q", "")
    try:
        name, page = _rubric(), _page_number()
        query = search_query()
        if "q" in request.args and not query.include:
            raise InvalidQuery("type at least one word to look for (not only -words)")
    except InvalidQuery:
        rendered = _render(q[:200], Query(), "all", 1, 400, _HOW_TO)
        return Response(rendered.body, 400, content_type=HTML_TYPE)
    snapshot = feeds_state().store.snapshot
    key = ("search", query, name, page, base_url(), snapshot.generation,
           snapshot.embargoed_count(None, time.time()))
    return send(feeds_state().publisher.cached(key, lambda: _render(q, query, name, page)))


class SearchGate:
    """WSGI in front of the app: a request with ?q= or ?exclude= draws on the search
    budget, and once it is spent gets its 429 here, for about what a poll costs."""

    _BUSY = b"Too many searches at once; retry shortly.\n"

    def __init__(self, app: WSGIApp, budget: SearchBudget) -> None:
        self.app, self.budget = app, budget

    @staticmethod
    def searching(environ: dict) -> bool:
        query = environ.get("QUERY_STRING", "")
        if "q=" not in query and "exclude=" not in query:
            return False
        args = parse_qs(query)
        return any(value.strip() for name in ("q", "exclude") for value in args.get(name, ()))

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if not self.searching(environ):
            return self.app(environ, start_response)
        try:
            self.budget.admit()
        except SearchBusy:
            start_response("429 TOO MANY REQUESTS", [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(self._BUSY))), ("Retry-After", "2"),
                ("Cache-Control", "no-store")])
            return [self._BUSY]
        started = time.monotonic()
        try:
            return self.app(environ, start_response)
        finally:
            # Wall time: a sync worker reading article bodies from disk is taken from
            # polls as much as one computing.
            self.budget.charge(time.monotonic() - started)


def init_app(app: Flask) -> None:
    """The search page, and the gate that keeps searches within their CPU budget."""
    app.add_url_rule(SEARCH_RULE, view_func=search_page)
    store = app.extensions["feeds"].store
    budget = SearchBudget(store.index_file.with_suffix(".search-budget")
                          if store.index_file else None)
    app.extensions["search_budget"] = budget
    app.wsgi_app = SearchGate(app.wsgi_app, budget)  # type: ignore[method-assign]
