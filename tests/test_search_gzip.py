"""A search feed's gzip body is made when a client first asks for it, then shared."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask

from feeds.http import Rendered
from tests.appkit import make_app, refresh
from tests.storekit import write_article


def kept_gzip(app: Flask) -> list[bytes | None]:
    documents = app.extensions["feeds"].publisher._cache._documents._items
    return [rendered._gzip for rendered, _size in documents.values()]


def test_search_feed_is_compressed_only_when_asked(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "s1", "Общество", "3 марта 2025, 10:00", "Минск встречает весну",
                  ["В Минске потеплело."])
    app = make_app(root, tmp_path / "cache")
    refresh(app)
    client = app.test_client()
    plain = client.get("/feeds/all.rss?q=минск")
    assert plain.status_code == 200 and b"<item>" in plain.data
    assert kept_gzip(app) == [None]
    packed = client.get("/feeds/all.rss?q=минск", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'
    assert kept_gzip(app) == [packed.data]  # made once, kept for the next client
    # Plain feeds are compressed as they are made, as before.
    client.get("/feeds/all.rss")
    assert all(kept_gzip(app))


def test_a_newer_last_modified_shares_the_gzip_body() -> None:
    then = datetime(2025, 3, 3, tzinfo=UTC)
    original = Rendered(b"<rss>" * 100, "application/rss+xml", then, 60)
    later = original.with_last_modified(then + timedelta(hours=1))
    assert original._gzip is None and later.size == original.size == 1000
    assert gzip.decompress(later.gzipped) == original.body
    assert original.gzipped is later.gzipped
    assert original.with_last_modified(then).gzipped is original.gzipped
