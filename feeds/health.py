"""GET /healthz: is the service publishing a fresh scan of a reachable store?

Public, so it says how many, never which: no titles, ids or paths. Answered
fresh every time (no fast lane, no render cache, no-store), and at once even
while the first index is being built.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from flask import Flask, Response

from .guard import Health
from .parse import MINSK
from .respond import feeds_state
from .snapshot import Snapshot
from .urls import HEALTH_RULE

STALE_SCANS = 5  # the last scan is stale after this many scan cycles without one


def health_report(health: Health, snapshot: Snapshot, refresh_interval: float,
                  now: float, index: str | None = None) -> tuple[int, dict[str, Any]]:
    """The status code and body of /healthz; pure, for a given moment.

    index says where this process keeps its index: "memory" when the cache folder
    failed. The service still publishes then (200), only without sharing parse results.
    """
    released = snapshot.released(None, now)
    cycle = max(refresh_interval, 3 * health.scan_seconds)  # the scan thread's own pace
    age = None if health.last_scan is None else max(0.0, now - health.last_scan)
    problem = health.reason
    status = health.status
    if status == "ok" and age is not None and age > STALE_SCANS * cycle:
        status, problem = "stale", f"no scan for {age:.0f} s"
    elif status == "ok" and not released:
        status, problem = "empty", "the store has no published articles"
    body: dict[str, Any] = {
        "status": status,
        "problem": problem,
        "articles": len(released),
        "rubrics": len(snapshot.rubric_slugs(now)),
        "rejected": len(snapshot.rejected),
        "embargoed": snapshot.embargoed_count(None, now),
        "last_scan": None if health.last_scan is None
        else datetime.fromtimestamp(health.last_scan, MINSK).isoformat(timespec="seconds"),
        "last_scan_age": None if age is None else round(age, 1),
        "index": index,
    }
    return (200 if status == "ok" else 503), body


def healthz() -> Response:
    state = feeds_state()
    store = state.store
    code, body = health_report(store.guard.health, store.snapshot,
                               state.settings.refresh_interval, time.time(), store.index_where)
    response = Response(json.dumps(body, ensure_ascii=False) + "\n", code,
                        mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.add_url_rule(HEALTH_RULE, "healthz", healthz)
