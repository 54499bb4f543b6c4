"""What every view shares: the app's state, the public origin, the query, the answer.

Views call these and raise the model's NotFound or InvalidQuery; web.py's one
boundary turns those into responses. Nothing here imports the app factory.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime

from flask import Response, current_app, request
from flask.typing import ResponseReturnValue

from .config import Settings
from .fastlane import FastLane
from .flavours import FLAVOURS
from .http import Rendered, accepts_gzip, representation
from .model import Entry, FeedRequest, InvalidQuery, NotFound, Query
from .parse import MINSK
from .publish import Publisher, last_modified
from .search import parse_query
from .store import Store
from .urls import Urls, split_filename

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


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


def base_url() -> str:
    """The public origin: FEEDS_BASE_URL, else the request's own (checked) host."""
    configured = feeds_state().settings.base_url
    if configured:
        return configured
    host = request.host if _HOST.match(request.host or "") else "localhost"
    return f"{request.scheme}://{host}"


def urls() -> Urls:
    return Urls(base_url(), feeds_state().settings.article_url)


def filename_parts(filename: str) -> tuple[str, str]:
    """("name", "ext") of a requested file name, or NotFound."""
    parts = split_filename(filename)
    if parts is None:
        raise NotFound(filename)
    return parts


# -- the query ----------------------------------------------------------------------


def query_limit(default: int) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise InvalidQuery("limit must be a whole number from 1 to 500")
    return int(raw)


def search_query() -> Query:
    """?q= and ?exclude= parsed once; text without a single word is an InvalidQuery."""
    raw, exclude = request.args.get("q", ""), request.args.get("exclude", "")
    query = parse_query(raw, exclude)
    if (raw.strip() and not query.include and not query.exclude) or (
            exclude.strip() and not query.exclude):
        raise InvalidQuery("the search has no words to look for")
    return query


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
        raise InvalidQuery("since must be an ISO date such as 2025-02-27") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=MINSK)
    return moment.timestamp()


def feed_request(name: str, fmt: str, flavour: str = "") -> FeedRequest:
    """The feed request this HTTP request makes, its query checked."""
    settings = feeds_state().settings
    default = FLAVOURS[flavour].max_items if flavour else settings.limit
    return FeedRequest(name=name, fmt=fmt, limit=query_limit(default), query=search_query(),
                       since=_since(), flavour=flavour)


# -- the answer ---------------------------------------------------------------------


def send(rendered: Rendered, stamp: tuple[int, int] | None = None) -> ResponseReturnValue:
    """Answer with the rendered bytes, gzip when asked, 304 when the client is current.

    With the store version (stamp) it was rendered for, a plain request's answer
    is also handed to the fast lane, which repeats it until the store changes.
    """
    gzip = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    body, headers = representation(rendered, gzip, feeds_state().settings.base_url is not None)
    response = Response(body, headers=headers)
    if stamp is not None and FastLane.plain(request.environ):
        feeds_state().fastlane.remember(request.environ, stamp, rendered, gzip)
    return response.make_conditional(request)


def released_entry(article_id: str) -> Entry:
    """The entry with this id if it exists and its embargo is over, else NotFound."""
    entry = feeds_state().store.snapshot.by_id.get(article_id)
    if entry is None or entry.published.timestamp() > time.time():
        raise NotFound(article_id)
    return entry


def entries_modified(entries: list[Entry]) -> datetime:
    return last_modified(entries, feeds_state().store.snapshot.changed_ns)
