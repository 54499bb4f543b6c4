"""Files being written: never published half-way, never vanishing, published soon after."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from feeds.index import index_file_for
from feeds.store import Store
from tests.storekit import appears_within, article_text, title_of, write_article

TEXT = article_text("Общество", "3 марта 2025, 10:00", "Длинная новость",
                    [f"Абзац номер {n}, довольно длинный." for n in range(40)]).encode()


def watching(root: Path, cache: Path, settle: float = 1.0) -> Store:
    store = Store(root, index_file_for(cache, root), refresh_interval=0.1, settle_time=settle)
    store.ensure_watching()
    assert store.wait_ready(10)
    return store


def write_slowly(path: Path, data: bytes, steps: int = 4, pause: float = 0.25) -> None:
    """The newsroom's tool: open('w') and several writes, flushed as it goes."""
    with open(path, "wb") as fh:
        for n in range(steps):
            fh.write(data[n * len(data) // steps:(n + 1) * len(data) // steps])
            fh.flush()
            time.sleep(pause)


def sizes_seen(store: Store, article_id: str, until: threading.Thread) -> set[int | None]:
    seen: set[int | None] = set()
    while until.is_alive():
        entry = store.snapshot.by_id.get(article_id)
        seen.add(entry.size if entry else None)
        time.sleep(0.02)
    return seen


def test_a_file_written_in_steps_is_published_only_whole(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "other")
    store = watching(root, tmp_path / "cache")
    try:
        writer = threading.Thread(target=write_slowly, args=(root / "new.txt", TEXT))
        writer.start()
        seen = sizes_seen(store, "new", writer)
        deadline = time.monotonic() + 3
        while "new" not in store.snapshot.by_id and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen <= {None, len(TEXT)}
        assert store.snapshot.by_id["new"].size == len(TEXT)
    finally:
        store.stop()


def test_an_article_rewritten_in_place_never_vanishes_nor_shows_half(tmp_path: Path) -> None:
    root = tmp_path / "store"
    old = write_article(root, "story", title="Старая версия")
    os.utime(old, (time.time() - 60, time.time() - 60))
    old_size = old.stat().st_size
    store = watching(root, tmp_path / "cache")
    try:
        writer = threading.Thread(target=write_slowly, args=(old, TEXT))
        writer.start()
        seen = sizes_seen(store, "story", writer)
        assert seen <= {old_size, len(TEXT)}
        deadline = time.monotonic() + 3
        while store.snapshot.by_id["story"].size != len(TEXT) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert title_of(store, "story") == "Длинная новость"
    finally:
        store.stop()


def test_renames_are_published_at_once_or_within_two_seconds(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "other")
    store = Store(root, index_file_for(tmp_path / "cache", root), settle_time=1.0)
    store.refresh()
    finished = tmp_path / "finished.txt"  # written long ago, then moved in
    finished.write_bytes(TEXT)
    os.utime(finished, (time.time() - 30, time.time() - 30))
    os.rename(finished, root / "moved.txt")
    store.refresh()
    assert "moved" in store.snapshot.by_id
    store.stop()

    store = watching(root, tmp_path / "cache2")
    try:
        fresh = root / ".fresh.txt"
        fresh.write_bytes(TEXT)
        os.rename(fresh, root / "fresh.txt")
        assert appears_within(lambda: store.snapshot, "fresh", 2.0)
    finally:
        store.stop()


def test_check_waits_for_files_being_written(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root).mkdir()
    (root / "just_now.txt").write_bytes(TEXT)
    store = Store(root, index_file_for(tmp_path / "cache", root), settle_time=0.5)
    store.refresh_settled()
    assert "just_now" in store.snapshot.by_id


def test_a_server_started_on_a_store_written_a_moment_ago_serves_all_of_it(
        tmp_path: Path) -> None:
    root = tmp_path / "store"
    for n in range(5):
        write_article(root, f"fresh{n}")
    store = Store(root, index_file_for(tmp_path / "cache", root), refresh_interval=0.1,
                  settle_time=1.0)
    store.ensure_watching()
    try:
        assert store.wait_ready(10)
        assert len(store.snapshot.entries) == 5
    finally:
        store.stop()
