"""The header policy: the fast lane's reading of request headers is Werkzeug's own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from werkzeug.http import http_date, is_resource_modified

from feeds.http import accepts_gzip, is_current, not_modified_headers

ETAG = "0123456789abcdef"
LAST = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
IF_NONE_MATCH = [None, "", f'"{ETAG}"', f'W/"{ETAG}"', f'"x", "{ETAG}"', '"other"', "*", "junk"]
IF_MODIFIED_SINCE = [None, "", http_date(LAST), "Mon, 01 Jan 2001 00:00:00 GMT",
                     "Sat, 01 Jan 2050 00:00:00 GMT", "nonsense"]


@pytest.mark.parametrize("if_none_match", IF_NONE_MATCH)
@pytest.mark.parametrize("if_modified_since", IF_MODIFIED_SINCE)
def test_is_current_decides_as_werkzeug(if_none_match: str | None,
                                        if_modified_since: str | None) -> None:
    environ = {"REQUEST_METHOD": "GET"}
    if if_none_match is not None:
        environ["HTTP_IF_NONE_MATCH"] = if_none_match
    if if_modified_since is not None:
        environ["HTTP_IF_MODIFIED_SINCE"] = if_modified_since
    werkzeug_says = not is_resource_modified(environ, etag=f'"{ETAG}"', last_modified=LAST)
    assert is_current(if_none_match, if_modified_since, ETAG, LAST) == werkzeug_says


@pytest.mark.parametrize(("header", "gzip"), [
    ("", False), ("gzip", True), ("GZIP", True), ("deflate, gzip", True), ("identity", False),
    ("gzip;q=0", False), ("*", True), ("*;q=0.5, gzip;q=0", False), ("br", False),
])
def test_accepts_gzip(header: str, gzip: bool) -> None:
    assert accepts_gzip(header) is gzip


def test_a_304_keeps_validators_and_caching_only() -> None:
    ok = [("Content-Type", "application/rss+xml; charset=utf-8"), ("Content-Length", "9"),
          ("Content-Encoding", "gzip"), ("ETag", '"x"'), ("Last-Modified", http_date(LAST)),
          ("Cache-Control", "public, max-age=120"), ("Vary", "Accept-Encoding")]
    assert not_modified_headers(ok) == [("ETag", '"x"'), ("Cache-Control", "public, max-age=120"),
                                        ("Vary", "Accept-Encoding")]
