"""One changed file is a small update of the snapshot, equal to a rebuild from scratch."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from feeds.index import index_file_for
from feeds.snapshot import Snapshot
from feeds.store import Store
from tests.storekit import assert_same_snapshot, image_bytes, title_of, write, write_article


def opened(root: Path, cache: Path) -> Store:
    store = Store(root, index_file_for(cache, root))
    store.refresh()
    return store


def same_as_a_rebuild(snapshot: Snapshot, root: Path, cache: Path) -> None:
    shutil.rmtree(cache, ignore_errors=True)
    fresh = opened(root, cache)
    rebuilt = fresh.snapshot
    fresh.stop()
    assert_same_snapshot(snapshot, rebuilt)


def small_store(root: Path) -> Path:
    for n in range(8):
        write_article(root, f"a{n}", ("Общество", "Спорт")[n % 2], f"{n + 1} марта 2025, 10:00",
                      f"Новость {n}", folder=f"2025/03/{n + 1:02d}",
                      photo=image_bytes("PNG") if n % 3 == 0 else None)
    return root


def test_an_edit_changes_only_its_own_entry(tmp_path: Path) -> None:
    root = small_store(tmp_path / "s")
    store = opened(root, tmp_path / "c")
    before = store.snapshot
    path = root / "2025/03/04/a3.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("Новость 3", "Правка"),
                    encoding="utf-8")
    assert store.refresh() is True
    after = store.snapshot
    assert after.generation == before.generation + 1
    assert title_of(store, "a3") == "Правка" and before.by_id["a3"] is not after.by_id["a3"]
    assert before.by_id["a3"].stat != after.by_id["a3"].stat
    assert all(after.by_id[i] is entry for i, entry in before.by_id.items() if i != "a3")
    assert after.by_slug["society"] is before.by_slug["society"]  # a3 is in sport
    assert [e.id for e in after.entries] == [e.id for e in before.entries]
    assert after.problems == before.problems
    same_as_a_rebuild(after, root, tmp_path / "c2")
    store.stop()


def _add(root: Path) -> None:
    write_article(root, "new", "Спорт", "9 марта 2025, 12:00", "Новая", folder="2025/03/09")


def _delete(root: Path) -> None:
    (root / "2025/03/02/a1.txt").unlink()


def _break(root: Path) -> None:
    write(root, "2025/03/03/a2.txt", "Общество\nне дата\n")


def _new_rubric(root: Path) -> None:
    write_article(root, "sci", "Наука", "9 марта 2025, 12:00", "Наука", folder="2025/03/09")


def _duplicate(root: Path) -> None:
    write_article(root, "a4", "Спорт", "9 марта 2025, 12:00", "Двойник", folder="2025/03/01")


def _photo_added(root: Path) -> None:
    write(root, "2025/03/02/a1.webp", image_bytes("WEBP"))


def _photo_broken(root: Path) -> None:
    os.unlink(root / "2025/03/01/a0.jpg")
    write(root, "2025/03/01/a0.png", b"<html>not an image</html>")


def _photo_removed(root: Path) -> None:
    (root / "2025/03/04/a3.jpg").unlink()


def _default_photo(root: Path) -> None:
    write(root, "_default.png", image_bytes("PNG", (32, 32)))


CHANGES: list[Callable[[Path], None]] = [
    _add, _delete, _break, _new_rubric, _duplicate, _photo_added, _photo_broken, _photo_removed,
    _default_photo]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__.strip("_") for c in CHANGES])
def test_every_kind_of_change_gives_what_a_rebuild_gives(tmp_path: Path,
                                                         change: Callable[[Path], None]) -> None:
    root = small_store(tmp_path / "s")
    store = opened(root, tmp_path / "c")
    change(root)
    store.refresh()
    same_as_a_rebuild(store.snapshot, root, tmp_path / "c2")
    for path in sorted(root.rglob("*.txt"))[1:]:  # and back, one file at a time (not the last:
        # an empty store is never published)
        path.unlink()
        store.refresh()
        same_as_a_rebuild(store.snapshot, root, tmp_path / "c2")
    store.stop()
