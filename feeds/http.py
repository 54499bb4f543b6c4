"""Validators and cache headers for rendered bytes: the header policy, no Flask.

Flask's path and the fast lane both take a 200's headers from `representation`,
drop to a 304's with `not_modified_headers`, and read the request's headers
with Werkzeug's own parsers, memoized: pollers send the same few values all day.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from werkzeug.datastructures import ETags
from werkzeug.http import (
    http_date,
    parse_accept_header,
    parse_date,
    parse_etags,
    remove_entity_headers,
)

_PARSED = 256  # header values remembered per parser (each at most the server's 8 KB)


def strong_etag(body: bytes) -> str:
    """An ETag from the bytes alone, so every worker and restart agrees on it."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def compress(body: bytes) -> bytes:
    """Deterministic gzip (no timestamp), so the static export matches the server."""
    return gzip.compress(body, compresslevel=6, mtime=0)


@dataclass(eq=False)
class Rendered:
    """One version of one resource: its bytes, validators and caching policy."""

    body: bytes
    media_type: str
    last_modified: datetime
    max_age: int
    etag: str = ""
    manifest: tuple[tuple[str, str], ...] = ()  # (entry id, entry digest), for delta feeds
    _gzip: bytes | None = field(default=None, repr=False)
    _source: Rendered | None = field(default=None, repr=False)  # whose gzip this shares

    def __post_init__(self) -> None:
        if not self.etag:
            self.etag = strong_etag(self.body)
        # HTTP dates have whole seconds; keep ours comparable with what clients send back.
        self.last_modified = self.last_modified.astimezone(UTC).replace(microsecond=0)

    @property
    def gzip_etag(self) -> str:
        """A different ETag for the gzip representation (RFC 9110, 8.8.3)."""
        return f"{self.etag}-gz"

    @property
    def gzipped(self) -> bytes:
        """Compressed once per version, when first asked, then reused for every request."""
        if self._gzip is None:
            self._gzip = self._source.gzipped if self._source is not None else compress(self.body)
        return self._gzip

    def with_last_modified(self, moment: datetime) -> Rendered:
        """The same bytes and ETags under another Last-Modified; gzip is shared."""
        return Rendered(self.body, self.media_type, moment, self.max_age, self.etag,
                        self.manifest, self._gzip, self._source or self)

    @property
    def size(self) -> int:
        """Bytes held in memory, for the cache's budget: a gzip body not made yet is
        counted as large as the body, which it never exceeds for our documents."""
        return len(self.body) + (len(self._gzip) if self._gzip is not None else len(self.body))

    @property
    def cache_control(self) -> str:
        return f"public, max-age={self.max_age}"


def representation(rendered: Rendered, gzip: bool,
                   shared: bool = True) -> tuple[bytes, list[tuple[str, str]]]:
    """Body and headers of a 200 answer; Flask's path and the fast lane share them.

    shared is False when the links in the body follow the request's Host and
    scheme (no FEEDS_BASE_URL): such an answer is only for the client that asked,
    so no shared cache may store it for everyone.
    """
    body = rendered.gzipped if gzip else rendered.body
    headers = [("Content-Type", rendered.media_type), ("Content-Length", str(len(body)))]
    if gzip:
        headers.append(("Content-Encoding", "gzip"))
    etag = rendered.gzip_etag if gzip else rendered.etag
    headers += [("ETag", f'"{etag}"'), ("Last-Modified", http_date(rendered.last_modified)),
                ("Cache-Control", rendered.cache_control if shared
                 else f"private, max-age={rendered.max_age}"),
                ("Vary", "Accept-Encoding")]
    return body, headers


def not_modified_headers(ok_headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What a 304 keeps of the 200's headers: Werkzeug's own rule, entity headers out."""
    headers = list(ok_headers)
    remove_entity_headers(headers)
    return headers


@lru_cache(maxsize=_PARSED)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether the client takes gzip, by Werkzeug's Accept-Encoding parser."""
    return parse_accept_header(accept_encoding)["gzip"] > 0


@lru_cache(maxsize=_PARSED)
def _etags(if_none_match: str) -> ETags:
    return parse_etags(if_none_match)


@lru_cache(maxsize=_PARSED)
def _date(if_modified_since: str) -> datetime | None:
    return parse_date(if_modified_since)


def is_current(if_none_match: str | None, if_modified_since: str | None, etag: str,
               last_modified: datetime) -> bool:
    """True when a GET may be answered 304: If-None-Match decides when it names tags
    (weak comparison), else If-Modified-Since; as Werkzeug's make_conditional decides."""
    tags = _etags(if_none_match) if if_none_match else None
    if tags:
        return tags.contains_weak(etag)
    since = _date(if_modified_since) if if_modified_since else None
    return since is not None and last_modified <= since
