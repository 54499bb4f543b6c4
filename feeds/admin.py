"""Private pages for the staff: /metrics (and /stats), behind FEEDS_ADMIN_TOKEN.

Without a token configured they do not exist (404). With one, a request must
carry it as `Authorization: Bearer <token>` (Prometheus' `authorization`
setting) or as the password of HTTP Basic (any user name), which lets a
browser ask for it; anything else gets 401. Answers are never cached.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path

import click
from flask import Flask, Response, current_app, render_template, request
from flask.cli import with_appcontext
from flask.typing import ResponseReturnValue

from .metrics import Drain, Seen, StoreFigures, exposition, record
from .model import NotFound
from .pages import chrome
from .respond import feeds_state, urls
from .subscribers import Counts, Poll, is_feed, parse_log_line, svg_chart, table, today
from .urls import METRICS_RULE, STATS_RULE

log = logging.getLogger("feeds.admin")


def authorized(header: str, token: str) -> bool:
    """Bearer <token>, or Basic with <token> as the password; compared in constant time."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.encode(), token.encode())


def private() -> Response | None:
    """None when the request may see a private page; else raise or answer 401."""
    token = feeds_state().settings.admin_token
    if not token:
        raise NotFound(request.path)  # off: no token, no page
    if authorized(request.headers.get("Authorization", ""), token):
        return None
    response = Response("Authorization required.\n", 401, mimetype="text/plain")
    response.headers["WWW-Authenticate"] = 'Basic realm="feeds admin", charset="UTF-8"'
    response.headers["Cache-Control"] = "no-store"
    return response


def store_figures() -> StoreFigures:
    store = feeds_state().store
    snapshot, now = store.snapshot, time.time()
    return StoreFigures(articles=len(snapshot.released(None, now)),
                        rubrics=len(snapshot.rubric_slugs(now)),
                        rejected=len(snapshot.rejected),
                        embargoed=snapshot.embargoed_count(None, now),
                        last_scan=store.guard.health.last_scan)


def metrics_view() -> Response:
    denied = private()
    if denied is not None:
        return denied
    drain: Drain = current_app.extensions["feeds_drain"]
    drain.drain()  # this worker's latest; the others drain every second
    body, content_type = exposition(store_figures())
    response = Response(body, 200, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def stats_view() -> ResponseReturnValue:
    """Subscribers per feed over the last ?days= (default 30), with a chart per feed."""
    denied = private()
    if denied is not None:
        return denied
    counts: Counts | None = current_app.extensions.get("feeds_subscribers")
    if counts is None:
        raise NotFound("statistics need FEEDS_CACHE_DIR or the instance folder")
    current_app.extensions["feeds_drain"].drain()
    raw = request.args.get("days", "30")
    days = int(raw) if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 3660 else 30
    last = today()
    first = (last - timedelta(days=days - 1)).isoformat()
    rows = counts.rows(first, last.isoformat())
    totals = counts.totals_by_day(first, last.isoformat())
    feeds = []
    for path in sorted({row.feed for row in rows}):
        mine = [row for row in rows if row.feed == path]
        feeds.append({"path": path, "rows": mine, "total": sum(r.subscribers for r in mine),
                      "chart": svg_chart(totals.get(path, {}))})
    feeds.sort(key=lambda feed: -feed["total"])  # type: ignore[operator]
    html = render_template(
        "stats.html", feeds=feeds, first=first, last=last.isoformat(), title="Подписчики",
        site_title=feeds_state().settings.site_title, **chrome(urls()))
    response = Response(html, 200, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def live_counts(app: Flask, drain: Drain) -> Counts | None:
    """The statistics file next to the index, fed by this process's drain."""
    index_file = app.extensions["feeds"].store.index_file
    if index_file is None:
        return None
    try:
        # The index makes this folder from the scan thread, maybe later than this runs.
        index_file.parent.mkdir(parents=True, exist_ok=True)
        counts = Counts(index_file.with_name(index_file.stem + ".subscribers.sqlite3"))
    except (OSError, sqlite3.Error) as exc:  # an unwritable cache folder costs the statistics only
        log.warning("no subscriber statistics: %s", exc)
        return None
    pruned: list[str] = []

    def count(batch: list[tuple[Seen, int]]) -> None:
        now = time.time()
        counts.add(Poll(now, s.path, s.status, s.user_agent, s.client, n)
                   for s, n in batch if is_feed(s.path))
        day = today()
        if pruned[-1:] != [day.isoformat()]:
            counts.prune(day)
            pruned[:] = [day.isoformat()]

    drain.readers.append(count)
    return counts


@click.command("stats")
@click.argument("logs", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--days", default=30, show_default=True, help="How many days back to show.")
@with_appcontext
def stats_command(logs: tuple[Path, ...], days: int) -> None:
    """Subscribers per feed and fetcher: from access logs (combined format) if given,
    else from what the running service counted."""
    if logs:
        counts = Counts(":memory:")
        for log_path in logs:
            with open(log_path, encoding="utf-8", errors="replace") as lines:
                counts.add(poll for poll in map(parse_log_line, lines) if poll is not None)
        known = counts.days()
        if not known:
            click.echo("no feed requests in these logs")
            return
        last = date.fromisoformat(known[-1])
    else:
        found: Counts | None = current_app.extensions.get("feeds_subscribers")
        if found is None:
            raise click.UsageError("no statistics file: pass access logs")
        counts, last = found, today()
    first = (last - timedelta(days=days - 1)).isoformat()
    click.echo(table(counts.rows(first, last.isoformat())), nl=False)


def init_app(app: Flask) -> None:
    """Count every answer Flask gives (the fast lane counts its own) and add /metrics."""
    state = app.extensions["feeds"]
    guard = state.store.guard
    drain = Drain(state.fastlane.seen,
                  lambda: (guard.health.last_scan, guard.health.scan_seconds))
    app.extensions["feeds_drain"] = drain
    app.extensions["feeds_subscribers"] = live_counts(app, drain)
    app.cli.add_command(stats_command)
    app.add_url_rule(STATS_RULE, "stats", stats_view)

    @app.after_request
    def _count(response: Response) -> Response:
        if state.watch:  # a serving process; one-off apps (tests, build) drain on demand
            drain.ensure_running()
        record(state.fastlane.seen, request.environ, response.status_code, fast=False)
        return response

    app.add_url_rule(METRICS_RULE, "metrics", metrics_view)
