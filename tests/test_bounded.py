"""Every per-worker table is bounded in entries and in bytes, counted on all it holds."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from feeds.bounded import ENTRY_OVERHEAD, Bounded


def test_the_oldest_entries_leave_past_either_bound() -> None:
    table: Bounded[str, bytes] = Bounded(3, 10_000, lambda _key, value: len(value))
    for key in "abcd":
        table.put(key, b"x")
    assert len(table) == 3 and table.get("a") is None
    table.get("b")  # used: now the newest
    table.put("big", b"x" * (10_000 - 3 * ENTRY_OVERHEAD))
    assert table.get("b") is not None and table.get("c") is None
    assert table.bytes <= 10_000
    table.put("huge", b"x" * 20_000)  # larger than the whole budget: never kept
    assert table.get("huge") is None and table.get("big") is not None


def test_the_render_cache_counts_both_bodies(app: Flask, client: FlaskClient) -> None:
    publisher = app.extensions["feeds"].publisher
    publisher._cache.clear()
    plain = client.get("/feeds/all.rss").data
    packed = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip"}).data
    assert publisher._cache.bytes >= len(plain) + len(packed)


def test_distinct_queries_leave_every_table_within_its_bounds(app: Flask,
                                                              client: FlaskClient) -> None:
    state = app.extensions["feeds"]
    for n in range(300):
        client.get(f"/feeds/all.rss?since=2025-03-01T00:00:{n % 60:02d}&limit={1 + n}")
        client.get(f"/feeds/all.json?q=слово{n}")
        client.get("/feeds/all.atom", headers={"A-IM": "feed", "If-None-Match": f'"{n}"'})
    publisher = state.publisher
    for table in (publisher._cache._documents, publisher._selections, publisher._versions):
        assert len(table) <= table.max_entries and table.bytes <= table.max_bytes
    assert len(publisher._selections) == publisher._selections.max_entries  # it was full
