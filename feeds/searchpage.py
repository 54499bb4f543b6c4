"""The HTML search page: results of the whole archive with snippets, and feeds to subscribe."""

from __future__ import annotations

import time

from flask import Flask, Response, g, render_template, request
from flask.typing import ResponseReturnValue

from .formats import FORMATS, HTML_TYPE
from .http import Rendered
from .model import Entry, InvalidQuery, Query
from .pages import chrome
from .respond import base_url, entries_modified, feeds_state, search_query, send, urls
from .search import SearchBudget, query_text, snippet
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


def init_app(app: Flask) -> None:
    """The search page, and the CPU budget every searching request draws on."""
    app.add_url_rule(SEARCH_RULE, view_func=search_page)
    store = app.extensions["feeds"].store
    budget = SearchBudget(store.index_file.with_suffix(".search-budget")
                          if store.index_file else None)
    app.extensions["search_budget"] = budget

    @app.before_request
    def _admit_search() -> None:
        if request.args.get("q", "").strip() or request.args.get("exclude", "").strip():
            budget.admit()  # SearchBusy: a 503 from the error boundary
            g.search_started = time.thread_time()

    @app.teardown_request
    def _charge_search(exc: BaseException | None) -> None:
        started = g.pop("search_started", None)
        if started is not None:
            budget.charge(time.thread_time() - started)
