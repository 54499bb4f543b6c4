"""The doorbell: the kernel wakes the scan, and a file renamed in whole need not settle."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from feeds import scan
from feeds.index import index_file_for
from feeds.notify import Doorbell
from feeds.store import Store
from tests.storekit import appears_within, article_text, write_article

TEXT = article_text("Общество", "3 марта 2025, 10:00", "Новость по событию",
                    ["Первый абзац новости.", "Второй абзац новости."]).encode()


def renamed_in(root: Path, name: str, data: bytes = TEXT) -> None:
    """The newsroom's right way: write a hidden temporary file, then rename it into place."""
    temporary = root / f".{name}.part"
    temporary.write_bytes(data)
    os.rename(temporary, root / name)


def test_a_file_renamed_in_is_finished_and_one_written_after_is_not(tmp_path: Path) -> None:
    (tmp_path / "day").mkdir()
    bell = Doorbell(str(tmp_path))
    bell.open()
    try:
        assert bell.listening
        bell.watch(["", "day"])
        renamed_in(tmp_path / "day", "whole.txt")
        (tmp_path / "day" / "in_place.txt").write_bytes(TEXT)
        bell.wait(1.0)
        assert bell.finished() == {"day/whole.txt"}
        with open(tmp_path / "day" / "whole.txt", "ab") as fh:  # written again after the rename
            fh.write(b"more")
        assert bell.finished() == set()
    finally:
        bell.close()


def test_wait_returns_when_a_watched_folder_changes_and_not_otherwise(tmp_path: Path) -> None:
    bell = Doorbell(str(tmp_path))
    bell.open()
    try:
        bell.watch([""])
        started = time.monotonic()
        bell.wait(0.3)
        assert time.monotonic() - started >= 0.29  # nothing happened: the whole pause
        renamed_in(tmp_path, "new.txt")
        started = time.monotonic()
        bell.wait(5.0)
        assert time.monotonic() - started < 1.0
        bell.ring()
        started = time.monotonic()
        bell.wait(5.0)
        assert time.monotonic() - started < 1.0
    finally:
        bell.close()


def test_a_renamed_in_article_shows_long_before_the_poll_and_the_settle_time(
        tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "old", folder="2025/03/03")
    store = Store(root, index_file_for(tmp_path / "cache", root), refresh_interval=10.0,
                  settle_time=5.0)
    store.ensure_watching()
    try:
        assert store.wait_ready(10)
        time.sleep(0.2)  # the first scan has pointed the doorbell at the hot folders
        renamed_in(root / "2025" / "03" / "03", "fresh.txt")
        assert appears_within(lambda: store.snapshot, "fresh", 1.5)
        # Written in place: woken at once, but held for the settle time.
        (root / "2025" / "03" / "03" / "in_place.txt").write_bytes(TEXT)
        assert not appears_within(lambda: store.snapshot, "in_place", 1.5)
    finally:
        store.stop()


def test_a_stopped_store_lets_go_of_its_doorbell(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "one")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        store = Store(root, index_file_for(tmp_path / "cache", root), refresh_interval=0.05)
        store.ensure_watching()
        assert store.wait_ready(10)
        store.stop()
    assert len(os.listdir("/proc/self/fd")) <= before + 1


def test_an_in_place_edit_of_an_old_article_shows_without_waiting_for_its_round(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Few enough hot folders and recent files that the old article is in neither,
    # as in a large archive; the slow round of re-stats is switched off.
    monkeypatch.setattr(scan, "_HOT_FOLDERS", 1)
    monkeypatch.setattr(scan, "_RECENT_FILES", 1)
    root = tmp_path / "store"
    old = write_article(root, "old", folder="2020/01/01", title="Первая версия")
    write_article(root, "older", folder="2019/01/01")
    write_article(root, "new", folder="2025/03/03")
    for path in root.rglob("*"):
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    store = Store(root, index_file_for(tmp_path / "cache", root), refresh_interval=30.0,
                  settle_time=0.2)
    store.refresh()
    store._scanner.rolling, store._scanner.roll_share = True, 0.0
    store.ensure_watching()
    try:
        time.sleep(0.3)
        old.write_text(article_text("Общество", "3 марта 2020, 10:00", "Исправленная версия",
                                    ["Первый абзац новости."]), encoding="utf-8")
        deadline = time.monotonic() + 5
        while (store.titles([store.snapshot.by_id["old"]]) != ["Исправленная версия"]
               and time.monotonic() < deadline):
            time.sleep(0.02)
        assert store.titles([store.snapshot.by_id["old"]]) == ["Исправленная версия"]
    finally:
        store.stop()
