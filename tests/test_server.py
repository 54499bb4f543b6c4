"""A real gunicorn server with two workers: validators, encodings, live updates."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.parse import MINSK
from tests.serverkit import Server, running_server
from tests.storekit import MONTHS, tiny_store, write_article


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    root = tmp_path_factory.mktemp("live")
    store = tiny_store(root / "store")
    with running_server(store, root / "cache") as running:
        yield running, store


def wait_until(check: Callable[[], bool], seconds: float) -> float:
    """Seconds until check() held on 8 fresh connections in a row (any worker)."""
    started = time.monotonic()
    streak = 0
    while time.monotonic() - started < seconds:
        streak = streak + 1 if check() else 0
        if streak >= 8:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not seen within {seconds} s")


def test_validators_agree_across_workers_and_connections(server: tuple[Server, Path]) -> None:
    srv, _ = server
    seen = {(r.headers["etag"], r.headers["last-modified"], r.body)
            for r in (srv.get("/feeds/all.rss") for _ in range(30))}
    assert len(seen) == 1
    etag, modified, _ = seen.pop()
    assert srv.get("/feeds/all.rss", {"If-None-Match": etag}).status == 304
    assert srv.get("/feeds/all.rss", {"If-Modified-Since": modified}).status == 304


def test_gzip_and_head_over_http(server: tuple[Server, Path]) -> None:
    srv, _ = server
    plain = srv.get("/feeds/all.atom")
    packed = srv.get("/feeds/all.atom", {"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed.body) == plain.body
    head = srv.get("/feeds/all.atom", method="HEAD")
    assert head.body == b""
    assert head.headers["content-length"] == str(len(plain.body))


def test_new_edited_deleted_articles_reach_every_worker(server: tuple[Server, Path]) -> None:
    srv, store = server
    path = write_article(store, "live1", "Спорт", "4 марта 2025, 12:00", "Живая новость")
    wait_until(lambda: "Живая новость" in srv.get("/feeds/sport.rss").text, 5)
    path.write_text(path.read_text(encoding="utf-8").replace("Живая новость", "Живая правка"),
                    encoding="utf-8")
    wait_until(lambda: "Живая правка" in srv.get("/feeds/all.json").text, 5)
    path.unlink()
    wait_until(lambda: "Живая правка" not in srv.get("/feeds/all.atom").text, 5)


def test_embargoed_article_is_released_after_its_minute(server: tuple[Server, Path]) -> None:
    srv, store = server
    now = datetime.now(MINSK)
    release = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (release - now).total_seconds() < 10:  # too close to tell "not yet" from "released"
        release += timedelta(minutes=1)
    published = f"{release.day} {MONTHS[release.month - 1]} {release.year}, {release:%H:%M}"
    write_article(store, "embargo1", "Спорт", published, "Новость под эмбарго")
    time.sleep(1.5)
    assert b"embargo1" not in srv.get("/feeds/all.rss").body
    wait = (release - datetime.now(MINSK)).total_seconds()
    wait_until(lambda: b"embargo1" in srv.get("/feeds/all.rss").body, wait + 5)


def test_preload_serves_and_picks_up_a_new_article(tmp_path: Path) -> None:
    """gunicorn --preload: the app and its first snapshot are made before the fork."""
    store = tiny_store(tmp_path / "store")
    with running_server(store, tmp_path / "cache", args=("--preload",)) as srv:
        assert all(srv.get("/feeds/all.rss").status == 200 for _ in range(16))
        write_article(store, "preload1", "Спорт", "4 марта 2025, 12:00", "После форка")
        wait_until(lambda: "После форка" in srv.get("/feeds/all.rss").text, 5)


def test_a_restart_resumes_from_the_saved_state(tmp_path: Path) -> None:
    """Two workers save the state of their scans (2 s after a start that read the index);
    the next start resumes from it and still sees what changed while it was down."""
    store, cache = tiny_store(tmp_path / "store"), tmp_path / "cache"
    with running_server(store, cache) as srv:
        wait_until(lambda: any(cache.glob("index-*.state")), 10)
        before = srv.get("/feeds/all.rss").body
    write_article(store, "restart1", "Спорт", "4 марта 2025, 12:00", "Пока сервер стоял")
    with running_server(store, cache) as srv:
        after = srv.get("/feeds/all.rss")
        assert "Пока сервер стоял" in after.text and after.body != before
        assert srv.get("/healthz").status == 200
    assert b"saved state" not in srv.process.stderr.read()  # type: ignore[union-attr]
