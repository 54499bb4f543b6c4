"""The Flask application: routes, request checks and the one error boundary."""

from __future__ import annotations

import logging
import os
import re
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request, send_file
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from .config import Settings
from .fastlane import FastLane, response_headers
from .flavours import FLAVOURS
from .http import Rendered
from .index import cache_file_for
from .model import Entry
from .parse import MINSK
from .publish import FeedRequest, NotFound, Publisher, Urls, last_modified
from .render import RENDERERS
from .store import Store
from .websub import HubNotifier

log = logging.getLogger("feeds.web")

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_MAX_WORDS_LENGTH = 200
_STARTUP_WAIT = 10.0


@dataclass
class Feeds:
    """The one piece of shared state, kept in app.extensions["feeds"]."""

    settings: Settings
    store: Store
    publisher: Publisher
    watch: bool
    fastlane: FastLane


def feeds_state() -> Feeds:
    return current_app.extensions["feeds"]  # type: ignore[no-any-return]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; test_config may carry SETTINGS (a Settings) and WATCH (bool)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(test_config or {})
    settings: Settings = app.config.get("SETTINGS") or Settings.from_env()
    init_app(app, settings, watch=app.config.get("WATCH", True))
    from . import cli, pages

    pages.init_app(app)
    cli.init_app(app)
    return app


def init_app(app: Flask, settings: Settings, watch: bool = True) -> None:
    cache_dir = settings.cache_dir or Path(app.instance_path)
    store = Store(settings.content_dir, cache_file_for(cache_dir, settings.content_dir),
                  settings.max_article_bytes, settings.refresh_interval)
    fastlane = FastLane(app.wsgi_app, store, settings.base_url)
    app.wsgi_app = fastlane  # type: ignore[method-assign]
    state = Feeds(settings, store, Publisher(settings, store), watch, fastlane)
    app.extensions["feeds"] = state
    if settings.websub_hubs:
        if settings.base_url is None:
            log.warning("FEEDS_WEBSUB_HUBS is set but FEEDS_BASE_URL is not: no hub pings,"
                        " since hubs need the feeds' public URLs")
        else:
            lock = store.cache_file.with_suffix(".websub.lock") if store.cache_file else None
            HubNotifier(store, settings.base_url, settings.websub_hubs, settings.limit,
                        lock).start()
    if watch:
        store.ensure_watching()
    else:
        store.refresh()

    @app.before_request
    def _store_ready() -> Response | None:
        if state.watch:
            store.ensure_watching()  # again after a fork (gunicorn --preload)
            if not store.wait_ready(_STARTUP_WAIT):
                response = Response("The article index is being built; retry shortly.\n",
                                    503, mimetype="text/plain")
                response.headers["Retry-After"] = "5"
                return response
        return None

    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(NotFound, lambda exc: _http_error(_not_found()))
    app.register_error_handler(Exception, _unexpected_error)
    app.add_url_rule("/feeds/<filename>", view_func=feed_view)
    app.add_url_rule("/feeds/<name>/archive/<filename>", view_func=archive_view)
    app.add_url_rule("/feeds/<flavour>/<filename>", view_func=flavour_view)
    app.add_url_rule("/photos/<filename>", view_func=photo_view)


# -- request helpers -----------------------------------------------------------


def base_url() -> str:
    """The public origin: FEEDS_BASE_URL, else the request's own (checked) host."""
    configured = feeds_state().settings.base_url
    if configured:
        return configured
    host = request.host if _HOST.match(request.host or "") else "localhost"
    return f"{request.scheme}://{host}"


def urls() -> Urls:
    return Urls(base_url(), feeds_state().settings)


def _bad_request(message: str) -> HTTPException:
    return HTTPException(response=Response(message + "\n", 400, mimetype="text/plain"))


def _not_found() -> HTTPException:
    return HTTPException(response=Response("Not found.\n", 404, mimetype="text/plain"))


def query_limit(default: int) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise _bad_request("limit must be a whole number from 1 to 500")
    return int(raw)


def _words(name: str) -> tuple[str, ...]:
    raw = request.args.get(name, "")
    if len(raw) > _MAX_WORDS_LENGTH:
        raise _bad_request(f"{name} is longer than {_MAX_WORDS_LENGTH} characters")
    return tuple(sorted({word.casefold() for word in raw.split() if word}))


def _since() -> float | None:
    raw = request.args.get("since")
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad_request("since must be an ISO date such as 2025-02-27") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=MINSK)
    return moment.timestamp()


def feed_request(name: str, fmt: str, flavour: str = "") -> FeedRequest:
    settings = feeds_state().settings
    default = FLAVOURS[flavour].max_items if flavour else settings.limit
    return FeedRequest(name=name, fmt=fmt, limit=query_limit(default), words=_words("q"),
                       exclude=_words("exclude"), since=_since(), flavour=flavour)


def send(rendered: Rendered, stamp: tuple[int, int] | None = None) -> ResponseReturnValue:
    """Answer with the rendered bytes, gzip when asked, 304 when the client is current.

    With the store version (stamp) it was rendered for, a plain request's answer
    is also handed to the fast lane, which repeats it until the store changes.
    """
    gzip = request.accept_encodings["gzip"] > 0
    body, headers = response_headers(rendered, gzip)
    response = Response(body, headers=headers)
    if stamp is not None and FastLane.plain(request.environ):
        feeds_state().fastlane.remember(request.environ, stamp, rendered, gzip)
    return response.make_conditional(request)


def split_filename(filename: str) -> tuple[str, str]:
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem:
        raise _not_found()
    return stem, extension


# -- views --------------------------------------------------------------------------


def feed_view(filename: str) -> ResponseReturnValue:
    name, fmt = split_filename(filename)
    if name in FLAVOURS:
        if fmt != "rss":
            raise _not_found()
        return _send_flavour(name, "all")
    if fmt not in RENDERERS:
        raise _not_found()
    state = feeds_state()
    request_, now, stamp = feed_request(name, fmt), time.time(), state.fastlane.stamp()
    rendered = state.publisher.feed(request_, base_url(), now)
    return send_delta(request_, now, rendered) or send(rendered, stamp)


def send_delta(request_: FeedRequest, now: float, current: Rendered) -> Response | None:
    """RFC 3229 with the "feed" manipulation: 226 and only what changed, when we can."""
    wanted = {token.split(";")[0].strip().lower()
              for token in request.headers.get("A-IM", "").split(",")}
    if "feed" not in wanted or not request.if_none_match:
        return None
    tags = sorted(tag.removesuffix("-gz") for tag in request.if_none_match.as_set())
    if not tags or current.etag in tags:
        return None  # the client is current: the ordinary 304
    delta = feeds_state().publisher.delta(request_, base_url(), now, tags, current)
    if delta is None:
        return None
    gzip = request.accept_encodings["gzip"] > 0
    response = Response(delta.gzipped if gzip else delta.body, 226,
                        content_type=delta.media_type)
    if gzip:
        response.headers["Content-Encoding"] = "gzip"
    response.set_etag(current.gzip_etag if gzip else current.etag)
    response.last_modified = current.last_modified
    response.headers["IM"] = "feed"
    response.headers["Cache-Control"] = "no-store, im"
    response.vary.update(("Accept-Encoding", "A-IM", "If-None-Match"))
    return response


def flavour_view(flavour: str, filename: str) -> ResponseReturnValue:
    """/feeds/yandex.rss, /feeds/dzen.rss and their per-rubric /feeds/yandex/<slug>.rss."""
    name, fmt = split_filename(filename)
    if flavour not in FLAVOURS or fmt != "rss" or name in FLAVOURS or name == "all":
        raise _not_found()
    return _send_flavour(flavour, name)


def _send_flavour(flavour: str, name: str) -> ResponseReturnValue:
    state = feeds_state()
    request_ = feed_request(name, "rss", flavour)
    return send(state.publisher.feed(request_, base_url(), time.time()))


def archive_view(name: str, filename: str) -> ResponseReturnValue:
    page, fmt = split_filename(filename)
    if fmt not in RENDERERS or not page.isascii() or not page.isdigit() or len(page) > 9:
        raise _not_found()
    state = feeds_state()
    request_ = FeedRequest(name=name, fmt=fmt, limit=state.settings.archive_page_size,
                           page=int(page))
    stamp = state.fastlane.stamp()
    return send(state.publisher.feed(request_, base_url(), time.time()), stamp)


def released_entry(article_id: str) -> Entry:
    """The entry with this id if it exists and its embargo is over, else 404."""
    entry = feeds_state().store.snapshot.by_id.get(article_id)
    if entry is None or entry.published.timestamp() > time.time():
        raise _not_found()
    return entry


def photo_view(filename: str) -> ResponseReturnValue:
    stem, extension = split_filename(filename)
    snapshot = feeds_state().store.snapshot
    photo = snapshot.default_photo if stem == "_default" else released_entry(stem).photo
    if photo is None or photo.extension != extension:
        raise _not_found()
    store = feeds_state().store
    try:
        if stem != "_default" and not store.leads_inside(photo.path):
            raise _not_found()  # replaced by a link out of the store since the scan
        # Werkzeug would hash and quote the path as UTF-8; ours may hold any bytes.
        info = os.stat(photo.path)
        etag = f"{info.st_mtime}-{info.st_size}-{zlib.adler32(os.fsencode(photo.path))}"
        response = send_file(photo.path, mimetype=photo.mime_type, conditional=True,
                             max_age=feeds_state().settings.max_age, etag=etag,
                             download_name=filename)
    except OSError:
        raise _not_found() from None
    response.headers["Cache-Control"] = f"public, max-age={feeds_state().settings.max_age}"
    return response


def entries_modified(entries: list[Entry]) -> datetime:
    return last_modified(entries, feeds_state().store.snapshot.changed_ns)


# -- the error boundary -------------------------------------------------------------


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    """Short plain-text errors: no stack trace, no echo of the request."""
    if exc.response is not None:
        return exc.response  # type: ignore[return-value]
    code = exc.code or 500
    response = Response(f"{code} {exc.name}.\n", code, mimetype="text/plain")
    if code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _unexpected_error(exc: Exception) -> Response:
    log.exception("unexpected error for %s", request.path)
    return Response("Internal error.\n", 500, mimetype="text/plain")
