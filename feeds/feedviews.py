"""The feed routes: subscription feeds, archive pages, aggregator flavours, photos."""

from __future__ import annotations

import os
import time
import zlib

from flask import Flask, Response, request, send_file
from flask.typing import ResponseReturnValue

from .flavours import FLAVOURS
from .formats import FORMATS
from .http import Rendered, accepts_gzip
from .model import FeedRequest, NotFound
from .respond import (
    base_url,
    feed_request,
    feeds_state,
    filename_parts,
    released_entry,
    send,
)
from .urls import ARCHIVE_RULE, DEFAULT_PHOTO, FEED_RULE, FLAVOUR_RULE, PHOTO_RULE


def feed_view(filename: str) -> ResponseReturnValue:
    name, fmt = filename_parts(filename)
    if name in FLAVOURS:
        if fmt != FLAVOURS[name].extension:
            raise NotFound(filename)
        return _send_flavour(name, "all")
    if fmt not in FORMATS:
        raise NotFound(filename)
    state = feeds_state()
    wanted, now, stamp = feed_request(name, fmt), time.time(), state.fastlane.stamp()
    rendered = state.publisher.feed(wanted, base_url(), now)
    return send_delta(wanted, now, rendered) or send(rendered, stamp)


def send_delta(wanted: FeedRequest, now: float, current: Rendered) -> Response | None:
    """RFC 3229 with the "feed" manipulation: 226 and only what changed, when we can."""
    manipulations = {token.split(";")[0].strip().lower()
                     for token in request.headers.get("A-IM", "").split(",")}
    if "feed" not in manipulations or not request.if_none_match:
        return None
    tags = sorted(tag.removesuffix("-gz") for tag in request.if_none_match.as_set())
    if not tags or current.etag in tags:
        return None  # the client is current: the ordinary 304
    delta = feeds_state().publisher.delta(wanted, base_url(), now, tags, current)
    if delta is None:
        return None
    gzip = accepts_gzip(request.headers.get("Accept-Encoding", ""))
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
    name, fmt = filename_parts(filename)
    if (flavour not in FLAVOURS or fmt != FLAVOURS[flavour].extension or name in FLAVOURS
            or name == "all"):
        raise NotFound(filename)
    return _send_flavour(flavour, name)


def _send_flavour(flavour: str, name: str) -> ResponseReturnValue:
    state = feeds_state()
    wanted = feed_request(name, FLAVOURS[flavour].extension, flavour)
    return send(state.publisher.feed(wanted, base_url(), time.time()))


def archive_view(name: str, filename: str) -> ResponseReturnValue:
    page, fmt = filename_parts(filename)
    if fmt not in FORMATS or not page.isascii() or not page.isdigit() or len(page) > 9:
        raise NotFound(filename)
    state = feeds_state()
    wanted = FeedRequest(name=name, fmt=fmt, limit=state.settings.archive_page_size,
                         page=int(page))
    stamp = state.fastlane.stamp()
    return send(state.publisher.feed(wanted, base_url(), time.time()), stamp)


def photo_view(filename: str) -> ResponseReturnValue:
    stem, extension = filename_parts(filename)
    snapshot = feeds_state().store.snapshot
    photo = snapshot.default_photo if stem == DEFAULT_PHOTO else released_entry(stem).photo
    if photo is None or photo.extension != extension:
        raise NotFound(filename)
    max_age = feeds_state().settings.max_age
    store = feeds_state().store
    try:
        if stem != DEFAULT_PHOTO and not store.leads_inside(photo.path):
            raise NotFound(filename)  # replaced by a link out of the store since the scan
        # Werkzeug would hash and quote the path as UTF-8; ours may hold any bytes.
        info = os.stat(photo.path)
        etag = f"{info.st_mtime}-{info.st_size}-{zlib.adler32(os.fsencode(photo.path))}"
        response = send_file(photo.path, mimetype=photo.mime_type, conditional=True,
                             max_age=max_age, etag=etag, download_name=filename)
    except OSError:
        store.guard.check_not_held()
        raise NotFound(filename) from None
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


def init_app(app: Flask) -> None:
    app.add_url_rule(FEED_RULE, view_func=feed_view)
    app.add_url_rule(ARCHIVE_RULE, view_func=archive_view)
    app.add_url_rule(FLAVOUR_RULE, view_func=flavour_view)
    app.add_url_rule(PHOTO_RULE, view_func=photo_view)
