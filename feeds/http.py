"""Validators and cache headers for rendered bytes: pure helpers, no Flask."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime


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
        """Compressed once per version, then reused for every request."""
        if self._gzip is None:
            self._gzip = compress(self.body)
        return self._gzip

    def with_last_modified(self, moment: datetime) -> Rendered:
        """The same bytes and ETags under another Last-Modified; gzip is shared."""
        return Rendered(self.body, self.media_type, moment, self.max_age, self.etag,
                        self.manifest, self.gzipped)

    @property
    def size(self) -> int:
        """Bytes held in memory, for the cache's budget."""
        return len(self.body) + (len(self._gzip) if self._gzip is not None else 0)

    @property
    def cache_control(self) -> str:
        return f"public, max-age={self.max_age}"
