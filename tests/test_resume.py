"""A start from the saved state equals a start that reads every row of the index."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from feeds import resume, scan
from feeds.catalog import Catalog
from feeds.index import index_file_for
from feeds.store import Store
from tests.storekit import article_text, assert_same_snapshot, image_bytes, write, write_article


@pytest.fixture(autouse=True)
def save_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The state is saved at the first scan it is due, not seconds after a start."""
    monkeypatch.setattr(resume, "_FIRST_SAVE_AFTER", 0.0)
    monkeypatch.setattr(resume, "_SAVE_EVERY", 0.0)


def state_file(root: Path, cache: Path) -> Path:
    return index_file_for(cache, root).with_suffix(".state")


def opened(root: Path, cache: Path) -> Store:
    store = Store(root, index_file_for(cache, root))
    store.refresh()
    return store


def saved(root: Path, cache: Path) -> None:
    """Run a store until it has saved its state, as a server does a while after it starts."""
    store = opened(root, cache)
    store.refresh()
    store.stop()
    assert state_file(root, cache).exists()


def resumed(root: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A store that must start from the saved state: reading the index's rows fails."""
    with monkeypatch.context() as patch:
        patch.setattr(Catalog, "load", _not_read)
        return opened(root, cache)


def _not_read(self: Catalog) -> None:
    raise AssertionError("the start read every row of the index")


def varied_store(root: Path) -> Path:
    """Rubrics, photos good and bad, a rejected file, a Windows-1251 one, a duplicate id,
    a bad name, the store's own default image."""
    for n in range(12):
        write_article(root, f"a{n}", ("Общество", "Спорт", "Экономика")[n % 3],
                      f"{n + 1} марта 2025, 10:00", f"Новость {n}", folder=f"2025/03/{n + 1:02d}",
                      photo=image_bytes("PNG") if n % 4 == 0 else None, photo_ext="png")
    write(root, "2025/03/02/a1.jpg", b"not an image")
    write(root, "2025/03/05/broken.txt", "no header at all")
    text = article_text("Экономика", "5 марта 2025, 08:00", "Курс валют", ["Курс."])
    write(root, "2025/03/05/cp.txt", text.encode("cp1251"))
    write_article(root, "a3", folder="2025/other", title="Второй файл с тем же id")
    write(root, "2025/03/06/bad name?.txt", text)
    write(root, "_default.jpg", image_bytes("JPEG"))
    return root


def same_state(store: Store, other: Store) -> None:
    """Every part a scan keeps: listings, parse results, photos and the snapshot."""
    ours, theirs = store._catalog, other._catalog
    assert ours is not None and theirs is not None
    assert ours.texts == theirs.texts
    assert ours.warnings == theirs.warnings
    assert ours.photos == theirs.photos
    assert ours.unreadable == theirs.unreadable
    assert store._scanner.folders.keys() == other._scanner.folders.keys()
    for rel, folder in store._scanner.folders.items():
        them = other._scanner.folders[rel]
        assert (folder.mtime_ns, folder.texts, folder.photos, folder.subfolders,
                folder.problems) == (them.mtime_ns, them.texts, them.photos,
                                     them.subfolders, them.problems), rel
    assert store._scanner.defaults == other._scanner.defaults
    mine, yours = store.snapshot, other.snapshot
    assert_same_snapshot(mine, yours)
    assert mine.duplicates == yours.duplicates
    assert mine.changed_ns == yours.changed_ns
    other.stop()


def from_the_index(root: Path, cache: Path) -> Store:
    """A start that reads every row (the state file set aside), for comparison."""
    state = state_file(root, cache)
    kept = state.read_bytes()
    state.unlink()
    store = Store(root, index_file_for(cache, root))
    store.refresh()
    state.write_bytes(kept)
    return store


def test_a_resumed_start_equals_a_start_from_the_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = varied_store(tmp_path / "s"), tmp_path / "c"
    saved(root, cache)
    store = resumed(root, cache, monkeypatch)
    assert "a0" in store.snapshot.by_id and store.snapshot.by_id["a0"].photo is not None
    assert store.snapshot.duplicates == {"a3"}
    same_state(store, from_the_index(root, cache))


def test_changes_made_while_stopped_are_seen(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """New, deleted and renamed files move their folder's mtime; an edit in place does
    not, and shows because another process wrote its row (the index's change log)."""
    # As on a large store: a start stats folders, not files (none is among the recent).
    monkeypatch.setattr(scan, "_SEED_FULL_SCAN_AFTER", 0)
    monkeypatch.setattr(scan, "_ROLL_SHARE", 0.0)
    monkeypatch.setattr(scan, "_RECENT_FILES", 0)
    root, cache = varied_store(tmp_path / "s"), tmp_path / "c"
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:  # listed long after
        os.utime(folder, (time.time() - 3600, time.time() - 3600))  # their last change
    saved(root, cache)
    write_article(root, "new", "Спорт", "20 марта 2025, 10:00", "Новая", folder="2025/03/20")
    (root / "2025/03/03/a2.txt").unlink()
    edited = root / "2025/03/04/a3.txt"
    folder_times = os.stat(edited.parent)
    edited.write_text(edited.read_text(encoding="utf-8").replace("Новость 3", "Правка 3"),
                      encoding="utf-8")
    os.utime(edited.parent, ns=(folder_times.st_atime_ns, folder_times.st_mtime_ns))
    other = Store(root, index_file_for(cache, root))  # a worker that saves no state
    other._saved = None
    other.refresh()
    other._scanner.rolling = False  # its next scan stats every file, as its round would
    other.refresh()
    assert other.titles([other.snapshot.by_id["a3"]]) == ["Правка 3"]
    other.stop()
    store = resumed(root, cache, monkeypatch)
    assert "new" in store.snapshot.by_id and "a2" not in store.snapshot.by_id
    assert store.snapshot.by_id["a3"].size == edited.stat().st_size
    assert store.titles([store.snapshot.by_id["a3"]]) == ["Правка 3"]
    same_state(store, from_the_index(root, cache))


def test_a_torn_or_foreign_state_is_not_used(tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    root, cache = varied_store(tmp_path / "s"), tmp_path / "c"
    saved(root, cache)
    state = state_file(root, cache)
    whole = state.read_bytes()
    state.write_bytes(whole[: len(whole) - 100])  # a crash mid-write of a plain copy
    with caplog.at_level(logging.INFO, logger="feeds.store"):
        store = opened(root, cache)
    assert "not used" in caplog.text
    same_state(store, from_the_index(root, cache))
    store.stop()
    # An index made again (damaged, or a new version) has another identity.
    state.write_bytes(whole)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index_file_for(cache, root)}{suffix}").unlink(missing_ok=True)
    rebuilt = opened(root, cache)
    assert rebuilt._saved is not None and rebuilt._saved.baseline is not None
    assert rebuilt._saved.baseline[0] != _identity_of(whole)
    same_state(rebuilt, from_the_index(root, cache))


def _identity_of(data: bytes) -> str:
    import json

    size = int.from_bytes(data[:4], "big")
    return str(json.loads(data[4 : 4 + size])["identity"])


def test_the_state_is_saved_again_after_a_change_and_the_log_is_cut(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = varied_store(tmp_path / "s"), tmp_path / "c"
    saved(root, cache)
    first = _header(root, cache)
    store = resumed(root, cache, monkeypatch)
    write_article(root, "later", "Спорт", "21 марта 2025, 10:00", "Позже", folder="2025/03/21")
    assert store.refresh() is True
    store.refresh()  # due again: saved
    store.stop()
    second = _header(root, cache)
    assert second["seq"] > first["seq"]
    index = store.index()
    index.reopen()
    # The log before the replaced state is cut: no start needs it now.
    assert first["seq"] > 0 and index.changed_since((first["identity"], first["seq"] - 1)) is None
    assert index.changed_since((first["identity"], first["seq"])) == (
        second["seq"], ["2025/03/21/later.txt"])
    assert index.changed_since((second["identity"], second["seq"])) == (second["seq"], [])
    assert "later" in resumed(root, cache, monkeypatch).snapshot.by_id


def test_a_state_with_a_file_still_waiting_is_not_saved(tmp_path: Path) -> None:
    root, cache = varied_store(tmp_path / "s"), tmp_path / "c"
    store = Store(root, index_file_for(cache, root), settle_time=60.0)
    write_article(root, "young", folder="2025/03/22")  # written just now: waits 60 s
    store.refresh()
    store.refresh()
    store.stop()
    assert not state_file(root, cache).exists()


def _header(root: Path, cache: Path) -> dict:
    import json

    data = state_file(root, cache).read_bytes()
    size = int.from_bytes(data[:4], "big")
    return dict(json.loads(data[4 : 4 + size]))


def test_a_failing_save_is_logged_and_the_store_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    root, cache = varied_store(tmp_path / "s"), tmp_path / "c"

    def broken(*args: object) -> None:
        raise RuntimeError("no room")

    monkeypatch.setattr(resume, "_columns", broken)
    with caplog.at_level(logging.ERROR, logger="feeds.store"):
        store = opened(root, cache)
        write_article(root, "after", folder="2025/03/23")
        assert store.refresh() is True
    assert "saving the state for the next start failed" in caplog.text
    assert "after" in store.snapshot.by_id and not state_file(root, cache).exists()
    store.stop()


def test_a_state_behind_another_workers_rows_is_not_saved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose listings miss an edit another worker indexed keeps its old file."""
    monkeypatch.setattr(scan, "_SEED_FULL_SCAN_AFTER", 0)  # folders only, as on a large store
    monkeypatch.setattr(scan, "_ROLL_SHARE", 0.0)
    monkeypatch.setattr(scan, "_RECENT_FILES", 0)
    root, cache = varied_store(tmp_path / "s"), tmp_path / "c"
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.utime(folder, (time.time() - 3600, time.time() - 3600))
    saved(root, cache)
    behind = resumed(root, cache, monkeypatch)  # will not see the edit below
    before = state_file(root, cache).read_bytes()
    edited = root / "2025/03/04/a3.txt"
    folder_times = os.stat(edited.parent)
    edited.write_text(edited.read_text(encoding="utf-8") + "Ещё абзац.\n", encoding="utf-8")
    os.utime(edited.parent, ns=(folder_times.st_atime_ns, folder_times.st_mtime_ns))
    other = Store(root, index_file_for(cache, root))
    other._saved = None
    other.refresh()
    other._scanner.rolling = False
    other.refresh()
    other.stop()
    write_article(root, "new", folder="2025/03/24")  # a change the behind worker sees
    assert behind.refresh() is True and behind.snapshot.by_id["a3"].size != edited.stat().st_size
    behind.refresh()
    behind.stop()
    assert state_file(root, cache).read_bytes() == before  # its state was not saved


def test_a_torn_payload_is_written_again(tmp_path: Path) -> None:
    """A file cut short (a power cut before the disk had it all) is not taken as saved."""
    root, cache = varied_store(tmp_path / "s"), tmp_path / "c"
    saved(root, cache)
    state = state_file(root, cache)
    whole = state.read_bytes()
    state.write_bytes(whole[:-10])
    saved(root, cache)
    assert state.read_bytes() == whole
