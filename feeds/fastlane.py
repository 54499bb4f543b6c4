"""A WSGI shortcut for the one request pollers make all day: a plain GET of a feed.

Flask answers each resource once per version; the answer is remembered here
with the store version it was made for. Later plain requests for the same URL
(no query string, no delta request, a simple Accept-Encoding) are answered from
memory, 200 or 304, with the very headers Flask sent, until the store changes.
Anything unusual goes to Flask.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from werkzeug.http import http_date

from .bounded import ENTRY_OVERHEAD, key_bytes
from .http import Rendered, accepts_gzip, is_current, not_modified_headers, representation
from .metrics import REQUESTS_KEPT, RawSeen
from .store import Store

StartResponse = Callable[..., object]
WSGIApp = Callable[..., Iterable[bytes]]

_UNUSUAL = frozenset(("HTTP_A_IM", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE",
                      "HTTP_IF_RANGE"))
_MICRO_CACHE = "HTTP_X_MICRO_CACHE"
_MAX_ENTRIES = 1024
_MAX_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class Answer:
    """A remembered resource version: both bodies' headers and the store version."""

    stamp: tuple[int, int]
    body: bytes
    etag: str  # unquoted
    last_modified: datetime
    ok_headers: list[tuple[str, str]]
    not_modified_headers: list[tuple[str, str]]

    def held_bytes(self, key: tuple[str, bool, str]) -> int:
        """What remembering this answer under key costs: body, headers, key."""
        headers = sum(len(k) + len(v) + 64 for k, v in (*self.ok_headers,
                                                         *self.not_modified_headers))
        return len(self.body) + headers + key_bytes(key) + ENTRY_OVERHEAD


def _until_this_second(start_response: StartResponse) -> StartResponse:
    """For nginx's micro-cache (deploy/nginx/proxy.conf asks with X-Micro-Cache): keep
    this answer until the current second ends. nginx counts lifetimes in whole seconds
    from the second it stores in, so its own shortest, 1 s, keeps an answer up to 2 s;
    `X-Accel-Expires: @<time>` names the end instead. nginx never passes it on."""
    def with_expiry(status: str, headers: list[tuple[str, str]], *rest: object) -> object:
        return start_response(status, [*headers, ("X-Accel-Expires", f"@{int(time.time())}")],
                              *rest)
    return with_expiry


def simple_gzip(accept_encoding: str) -> bool | None:
    """gzip or not for a plain header; None for q-values or *, which Flask alone answers."""
    if "q=" in accept_encoding or "*" in accept_encoding:
        return None
    return accepts_gzip(accept_encoding)


class FastLane:
    """WSGI middleware: remembered answers first, the Flask app for everything else."""

    def __init__(self, app: WSGIApp, store: Store, base_url: str | None) -> None:
        self.app = app
        self.store = store
        self.fixed_origin = base_url is not None
        self.answers: dict[tuple[str, bool, str], Answer] = {}
        self._stamp: tuple[int, int] = (-1, -1)
        self._bytes = 0
        self._lock = threading.Lock()
        # Answered requests, drained by feeds.metrics (bounded: the oldest go first).
        self.seen: deque[RawSeen] = deque(maxlen=REQUESTS_KEPT)

    def stamp(self) -> tuple[int, int]:
        """The store version: the scan generation and how many embargoes still hold."""
        snapshot = self.store.snapshot
        return snapshot.generation, snapshot.embargoed_count(None, time.time())

    def _key(self, environ: dict, gzip: bool) -> tuple[str, bool, str]:
        # Without FEEDS_BASE_URL the links follow the Host header, so it is part of the key.
        origin = "" if self.fixed_origin else (
            f"{environ.get('wsgi.url_scheme')}://{environ.get('HTTP_HOST', '')}")
        return environ.get("PATH_INFO", ""), gzip, origin

    def remember(self, environ: dict, stamp: tuple[int, int], rendered: Rendered,
                 gzip: bool) -> None:
        """Called by the Flask view after answering a plain request."""
        if simple_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")) is not gzip:
            return  # a header only Flask answers: never answer it from here
        body, headers = representation(rendered, gzip, self.fixed_origin)
        etag = rendered.gzip_etag if gzip else rendered.etag
        answer = Answer(stamp, body, etag, rendered.last_modified, headers,
                        not_modified_headers(headers))
        key = self._key(environ, gzip)
        with self._lock:
            if stamp != self._stamp:
                self.answers.clear()  # answers for an older store are never used again
                self._bytes, self._stamp = 0, stamp
            if key not in self.answers:
                self.answers[key] = answer
                self._bytes += answer.held_bytes(key)
            # Oldest first out: a poller's favourite comes back on its next request.
            while len(self.answers) > _MAX_ENTRIES or self._bytes > _MAX_BYTES:
                oldest = next(iter(self.answers))
                self._bytes -= self.answers.pop(oldest).held_bytes(oldest)

    @staticmethod
    def plain(environ: dict) -> bool:
        """A request the fast lane may answer: GET or HEAD, no query, no delta, and no
        precondition other than If-None-Match / If-Modified-Since (If-Match and the
        rest are Werkzeug's to judge: pollers never send them)."""
        return (environ.get("REQUEST_METHOD") in ("GET", "HEAD")
                and not environ.get("QUERY_STRING")
                and _UNUSUAL.isdisjoint(environ))

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if _MICRO_CACHE in environ:
            start_response = _until_this_second(start_response)
        if self.plain(environ):
            gzip = simple_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
            answer = None if gzip is None else self.answers.get(self._key(environ, gzip))
            if answer is not None and answer.stamp == self.stamp():
                # Werkzeug's conditional responses carry a Date; so do ours.
                date = ("Date", http_date(time.time()))
                current = is_current(environ.get("HTTP_IF_NONE_MATCH"),
                                     environ.get("HTTP_IF_MODIFIED_SINCE"), answer.etag,
                                     answer.last_modified)
                # One append for metrics and subscriber counts; a thread does the rest.
                self.seen.append((True, environ.get("PATH_INFO", ""), 304 if current else 200,
                                  environ.get("HTTP_USER_AGENT"), environ.get("REMOTE_ADDR"),
                                  environ.get("HTTP_X_FORWARDED_FOR")))
                if current:
                    start_response("304 NOT MODIFIED", [*answer.not_modified_headers, date])
                    return [b""]
                start_response("200 OK", [*answer.ok_headers, date])
                return [b"" if environ["REQUEST_METHOD"] == "HEAD" else answer.body]
        return self.app(environ, start_response)
