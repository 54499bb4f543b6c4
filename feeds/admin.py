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
import time

from flask import Flask, Response, current_app, request

from .metrics import Drain, StoreFigures, exposition, record
from .model import NotFound
from .respond import feeds_state
from .urls import METRICS_RULE


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


def init_app(app: Flask) -> None:
    """Count every answer Flask gives (the fast lane counts its own) and add /metrics."""
    state = app.extensions["feeds"]
    guard = state.store.guard
    drain = Drain(state.fastlane.seen,
                  lambda: (guard.health.last_scan, guard.health.scan_seconds))
    app.extensions["feeds_drain"] = drain

    @app.after_request
    def _count(response: Response) -> Response:
        if state.watch:  # a serving process; one-off apps (tests, build) drain on demand
            drain.ensure_running()
        record(state.fastlane.seen, request.environ, response.status_code, fast=False)
        return response

    app.add_url_rule(METRICS_RULE, "metrics", metrics_view)
