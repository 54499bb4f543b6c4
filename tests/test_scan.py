"""Scanning a large store: the pace after a cold start, the capped re-check, links."""

from __future__ import annotations

import os
import time
from pathlib import Path

from feeds.index import index_file_for
from feeds.scan import _RECENT_FILES
from feeds.store import Store
from tests.appkit import make_app
from tests.storekit import appears_within, article_text, image_bytes, title_of, write, write_article

TEXT = article_text("Общество", "3 марта 2025, 10:00", "Новость", ["Абзац."] * 5)


def test_a_cold_start_does_not_set_the_pace_of_later_scans(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    for n in range(4000):
        (root / f"a{n}.txt").write_text(TEXT)
    store = Store(root, index_file_for(tmp_path / "cache", root), refresh_interval=0.1)
    store.ensure_watching()
    try:
        assert store.wait_ready(30)
        write(root, "latest.txt", TEXT)
        # Parsing 4,000 files took most of a second; scans themselves take a few ms.
        assert appears_within(lambda: store.snapshot, "latest", 1.0)
    finally:
        store.stop()


def partial_scans(store: Store) -> None:
    """Make every later scan a cheap one, as on a store too large for a full scan each time."""
    scanner = store._scanner
    scanner.rolling, scanner.roll_share, scanner._next_sweep = True, 0.0, float("inf")


def test_the_recheck_list_stays_capped_in_a_huge_folder(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    old = time.time() - 3600
    for n in range(_RECENT_FILES + 500):
        path = root / f"a{n}.txt"
        path.write_text(TEXT)
        os.utime(path, (old, old))
    store = Store(root, index_file_for(tmp_path / "cache", root))
    store.refresh()
    partial_scans(store)
    write(root, "new.txt", TEXT)  # the folder is listed again
    store.refresh()
    assert "new" in store.snapshot.by_id
    assert "new.txt" in store._scanner.recent
    assert len(store._scanner.recent) <= _RECENT_FILES
    write(root, "new.txt", TEXT.replace("Новость", "Исправленная новость"))
    store.refresh()
    assert title_of(store, "new") == "Исправленная новость"


def test_a_recent_photo_replaced_by_a_link_out_of_the_store_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "story", photo=image_bytes())
    outside = write(tmp_path, "secret.jpg", image_bytes(color=(1, 2, 3)))
    app = make_app(root, tmp_path / "cache")
    store = app.extensions["feeds"].store
    client = app.test_client()
    assert client.get("/photos/story.jpg").data == image_bytes()
    # Swapped under a running server: refused at once, before any scan.
    folder_times = (root.stat().st_atime_ns, root.stat().st_mtime_ns)
    (root / "story.jpg").unlink()
    (root / "story.jpg").symlink_to(outside)
    os.utime(root, ns=folder_times)  # the folder looks unchanged: only the re-check sees it
    assert client.get("/photos/story.jpg").status_code == 404
    partial_scans(store)
    store.refresh()
    assert store.snapshot.by_id["story"].photo is None
    assert any("link leads outside" in p.reason for p in store.snapshot.problems)
    assert client.get("/photos/story.jpg").status_code == 404
