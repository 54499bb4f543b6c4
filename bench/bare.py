"""The baseline: a bare WSGI app that returns recorded bytes and headers, nothing else."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

BODY = Path(os.environ["BARE_BODY"]).read_bytes()
HEADERS: list[tuple[str, str]] = [tuple(h) for h in json.loads(os.environ["BARE_HEADERS"])]
ETAG = dict(HEADERS)["ETag"]
NOT_MODIFIED = [(k, v) for k, v in HEADERS if k in ("ETag", "Cache-Control", "Vary")]


def app(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
    """200 with the recorded feed, or 304 when If-None-Match names its ETag."""
    if environ.get("HTTP_IF_NONE_MATCH") == ETAG:
        start_response("304 NOT MODIFIED", NOT_MODIFIED)
        return [b""]
    start_response("200 OK", HEADERS)
    return [BODY]
