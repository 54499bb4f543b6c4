"""The application factory: wires the parts together and holds the one error boundary."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from . import admin, cli, crawlers, errorpages, feedviews, health, logs, pages, searchpage
from .config import Settings, unknown_settings
from .fastlane import FastLane
from .guard import StoreOutage, check_root
from .index import index_file_for
from .model import InvalidQuery, NotFound
from .publish import Publisher
from .respond import Feeds
from .search import SearchBusy
from .startup import MASTER_CHECKED
from .store import Store
from .websub import HubNotifier

log = logging.getLogger("feeds.web")

_STARTUP_WAIT = 10.0
# gunicorn's workers share one socket: a worker that takes connections only once its
# first scan is done leaves the first requests to a worker that can answer them. A
# first start on a large store (the index being built) stops waiting after this long,
# and its requests get 503 until the index is there.
_FIRST_SCAN_WAIT = 3.0


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; test_config may carry SETTINGS (a Settings) and WATCH (bool)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(test_config or {})
    settings: Settings = app.config.get("SETTINGS") or Settings.from_env()
    logs.configure(settings.log_format)
    if "SETTINGS" not in app.config and not os.environ.get(MASTER_CHECKED):
        for warning in unknown_settings():
            log.warning("%s", warning)
    check_root(settings.content_dir)
    init_app(app, settings, watch=app.config.get("WATCH", True))
    feedviews.init_app(app)
    pages.init_app(app)
    searchpage.init_app(app)
    health.init_app(app)
    crawlers.init_app(app)
    admin.init_app(app)
    cli.init_app(app, create_app)
    return app


def init_app(app: Flask, settings: Settings, watch: bool = True) -> None:
    """Open the store, start what watches it, install the fast lane and the boundary."""
    cache_dir = settings.cache_dir or Path(app.instance_path)
    store = Store(settings.content_dir, index_file_for(cache_dir, settings.content_dir),
                  settings.max_article_bytes, settings.refresh_interval, settings.settle_time)
    fastlane = FastLane(app.wsgi_app, store, settings.base_url)
    app.wsgi_app = fastlane  # type: ignore[method-assign]
    state = Feeds(settings, store, Publisher(settings, store), watch, fastlane)
    store.add_scan_listener(state.publisher.warm)
    app.extensions["feeds"] = state
    if settings.websub_hubs:
        if settings.base_url is None:
            log.warning("FEEDS_WEBSUB_HUBS is set but FEEDS_BASE_URL is not: no hub pings,"
                        " since hubs need the feeds' public URLs")
        else:
            lock = store.index_file.with_suffix(".websub.lock") if store.index_file else None
            HubNotifier(store, settings.base_url, settings.websub_hubs, settings.limit,
                        lock).start()
    if watch:
        store.ensure_watching()
        store.wait_ready(_FIRST_SCAN_WAIT)
    else:
        store.refresh_settled()

    @app.before_request
    def _store_ready() -> Response | None:
        if state.watch:
            store.ensure_watching()  # again after a fork (gunicorn --preload)
            if request.endpoint != "healthz" and not store.wait_ready(_STARTUP_WAIT):
                response = Response("The article index is being built; retry shortly.\n",
                                    503, mimetype="text/plain")
                response.headers["Retry-After"] = "5"
                return response
        return None

    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(NotFound, _not_found)
    app.register_error_handler(InvalidQuery, _invalid_query)
    app.register_error_handler(SearchBusy, _search_busy)
    app.register_error_handler(StoreOutage, _store_outage)
    app.register_error_handler(Exception, _unexpected_error)


# -- the error boundary: short plain text, no stack trace, no echo of the request -----
# (a short Russian page instead of the plain text where a person asked: errorpages)


def _not_found(exc: NotFound) -> Response:
    return _for_people(Response("Not found.\n", 404, mimetype="text/plain"))


def _invalid_query(exc: InvalidQuery) -> Response:
    return _for_people(Response(f"{exc}\n", 400, mimetype="text/plain"))


def _search_busy(exc: SearchBusy) -> Response:
    # 429, not 503: the service is well; searches alone wait for their share, and an
    # operator's alerts on 5xx stay quiet during a crawler's flood.
    response = Response("Too many searches at once; retry shortly.\n", 429,
                        mimetype="text/plain")
    response.headers["Retry-After"] = "2"
    return response


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    if exc.response is not None:
        return exc.response  # type: ignore[return-value]
    code = exc.code or 500
    response = Response(f"{code} {exc.name}.\n", code, mimetype="text/plain")
    if code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return _for_people(response)


def _store_outage(exc: StoreOutage) -> Response:
    """A file of a lost store was needed: retry later, and keep what you have."""
    response = Response("The article store is unavailable; retry shortly.\n", 503,
                        mimetype="text/plain")
    response.headers["Retry-After"] = "30"
    return response


def _unexpected_error(exc: Exception) -> Response:
    log.exception("unexpected error for %s", request.path)
    return _for_people(Response("Internal error.\n", 500, mimetype="text/plain"))


def _for_people(response: Response) -> Response:
    """The same status and headers, as a Russian HTML page when a person asked."""
    if not errorpages.for_people(request.path):
        return response
    try:
        settings = current_app.extensions["feeds"].settings
        prefix = urlsplit(settings.base_url or "").path.rstrip("/")
        page = errorpages.error_page(response.status_code, settings.site_title, prefix)
    except Exception:  # the plain answer is still right
        log.exception("error page failed for %s", request.path)
        return response
    for header in ("Allow", "Retry-After"):
        if header in response.headers:
            page.headers[header] = response.headers[header]
    return page
