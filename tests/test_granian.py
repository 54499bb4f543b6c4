"""granian, the supported alternative to gunicorn: the same HTTP answers, and slow clients."""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serverkit import GRANIAN_OPTIONS, Server, half_sent, running_server
from tests.storekit import tiny_store, write_article

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def granian(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    root = tmp_path_factory.mktemp("granian")
    store = tiny_store(root / "store")
    with running_server(store, root / "cache", server="granian") as running:
        yield running, store


def test_readme_runs_granian_as_tested() -> None:
    assert GRANIAN_OPTIONS in (ROOT / "README.md").read_text(encoding="utf-8")


def test_validators_encodings_and_errors(granian: tuple[Server, Path]) -> None:
    srv, _ = granian
    answers = [srv.get("/feeds/all.rss") for _ in range(20)]  # Flask first, then the fast lane
    assert len({(a.headers["etag"], a.headers["last-modified"], a.body) for a in answers}) == 1
    first, repeated = answers[0].headers, answers[-1].headers
    assert {k: v for k, v in first.items() if k != "date"} == {
        k: v for k, v in repeated.items() if k != "date"}
    assert first["cache-control"] == "public, max-age=120"
    assert first["vary"] == "Accept-Encoding"
    unchanged = srv.get("/feeds/all.rss", {"If-None-Match": first["etag"]})
    assert unchanged.status == 304 and unchanged.body == b""
    assert unchanged.headers["etag"] == first["etag"]
    assert srv.get("/feeds/all.rss", {"If-Modified-Since": first["last-modified"]}).status == 304
    packed = srv.get("/feeds/all.atom", {"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed.body) == srv.get("/feeds/all.atom").body
    head = srv.get("/feeds/all.atom", method="HEAD")
    assert head.body == b"" and head.headers["content-length"] == str(len(gzip.decompress(
        packed.body)))
    assert srv.get("/feeds/nothing.rss").status == 404
    assert srv.get("/feeds/all.rss?limit=0").status == 400
    assert srv.get("/feeds/all.rss", {"X-Forwarded-Proto": "https"}).body == answers[0].body


def test_a_new_article_reaches_every_worker(granian: tuple[Server, Path]) -> None:
    srv, store = granian
    write_article(store, "granian1", "Спорт", "4 марта 2025, 12:00", "Новость для granian")
    started, streak = time.monotonic(), 0
    while streak < 8:  # on fresh connections, so both workers answer
        streak = streak + 1 if b"granian1" in srv.get("/feeds/all.rss").body else 0
        assert time.monotonic() - started < 10
        time.sleep(0.05)


def test_half_sent_requests_do_not_hold_the_workers(granian: tuple[Server, Path]) -> None:
    """Clients that send half a request and wait: the others are still answered at once."""
    srv, _ = granian
    with half_sent(srv.port, 32) as stalled:  # many more than workers x threads
        slow = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        slow.sendall(b"POST /feeds/all.rss HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        stalled.append(slow)
        time.sleep(0.2)
        started = time.monotonic()
        for _ in range(10):
            assert srv.get("/feeds/all.rss").status == 200
        assert time.monotonic() - started < 2
