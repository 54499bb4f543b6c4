"""The store: what counts as an article, photos, problems, the shared index."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

import pytest

from feeds.index import index_file_for
from feeds.store import Store
from tests.storekit import SEED_TEXT, article_text, image_bytes, title_of, write, write_article


def open_store(root: Path, cache: Path, **kwargs: object) -> Store:
    store = Store(root, index_file_for(cache, root), **kwargs)  # type: ignore[arg-type]
    store.refresh()
    return store


def test_ids_come_from_file_names_anywhere_under_the_root(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "a1", folder="2025/02/27")
    write(root, "UPPER.TXT", article_text("Спорт", "1 марта 2025, 10:00", "Т", ["Абзац."]))
    write(root, "notes.md", "not an article")
    write(root, "_drafts/d1.txt", SEED_TEXT)
    write(root, ".hidden/h1.txt", SEED_TEXT)
    write(root, ".swap.txt", SEED_TEXT)
    write(root, "_draft.txt", SEED_TEXT)
    snapshot = open_store(root, tmp_path / "cache").snapshot
    assert sorted(snapshot.by_id) == ["UPPER", "a1"]
    assert snapshot.by_id["a1"].path == "2025/02/27/a1.txt"
    assert snapshot.rubrics == {"society": "Общество", "sport": "Спорт"}


def test_unknown_rubric_gets_a_transliterated_slug(tmp_path: Path) -> None:
    write_article(tmp_path / "s", "n1", rubric="Наука")
    assert open_store(tmp_path / "s", tmp_path / "c").snapshot.rubrics == {"nauka": "Наука"}


def test_photo_is_sniffed_and_chosen_in_order(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "p1", photo=image_bytes("PNG"), photo_ext="JPG")
    write(root, "p1.webp", image_bytes("WEBP"))
    write_article(root, "p2", photo=b"", photo_ext="jpg")
    write(root, "p2.png", image_bytes("PNG"))
    write_article(root, "p3", photo=image_bytes("JPEG")[:-40], photo_ext="jpg")
    write_article(root, "p4", photo=b"<html>not an image</html>", photo_ext="jpeg")
    snapshot = open_store(root, tmp_path / "cache").snapshot
    p1 = snapshot.by_id["p1"].photo
    assert p1 is not None and p1.mime_type == "image/png" and p1.path.endswith("p1.JPG")
    p2 = snapshot.by_id["p2"].photo
    assert p2 is not None and p2.path.endswith("p2.png")
    assert snapshot.by_id["p3"].photo is None
    assert snapshot.by_id["p4"].photo is None
    reasons = {os.path.basename(p.path): p.reason for p in snapshot.problems}
    assert "truncated JPEG" in reasons["p3.jpg"] and "default image" in reasons["p3.jpg"]
    assert "not a readable image" in reasons["p4.jpeg"]
    assert all(not p.fatal for p in snapshot.problems)


def test_duplicate_ids_publish_the_first_path(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "dup", title="Первый", folder="a")
    write_article(root, "dup", title="Второй", folder="b")
    store = open_store(root, tmp_path / "cache")
    snapshot = store.snapshot
    assert title_of(store, "dup") == "Первый"
    paths = sorted(os.path.relpath(p.path, root) for p in snapshot.problems)
    assert paths == ["a/dup.txt", "b/dup.txt"]
    assert [os.path.relpath(p.path, root) for p in snapshot.rejected] == ["b/dup.txt"]


def test_links_outside_the_store_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_article(outside, "secret", title="Секрет")
    root = tmp_path / "store"
    write_article(root, "inside")
    os.symlink(outside, root / "linkdir")
    os.symlink(outside / "secret.txt", root / "secret.txt")
    os.symlink(root / "inside.txt", root / "alias.txt")
    os.symlink(root, root / "loop")
    snapshot = open_store(root, tmp_path / "cache").snapshot
    assert "secret" not in snapshot.by_id
    assert set(snapshot.by_id) == {"inside", "alias"}
    assert any("outside the store" in p.reason for p in snapshot.problems)


def test_oversized_file_is_rejected_unread(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "big", paragraphs=["Очень длинный абзац. " * 200])
    snapshot = open_store(root, tmp_path / "cache", max_article_bytes=2048).snapshot
    assert "big" not in snapshot.by_id
    assert "limit" in snapshot.rejected[0].reason


def test_windows_1251_is_read_and_reported(tmp_path: Path) -> None:
    root = tmp_path / "store"
    text = article_text("Экономика", "5 мая 2025, 08:00", "Курс валют", ["Курс не изменился."])
    write(root, "cp.txt", text.encode("cp1251"))
    write(root, "bom.txt", b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    store = open_store(root, tmp_path / "cache")
    snapshot = store.snapshot
    assert title_of(store, "cp") == "Курс валют" == title_of(store, "bom")
    assert [os.path.basename(p.path) for p in snapshot.problems] == ["cp.txt"]
    assert "1251" in snapshot.problems[0].reason and not snapshot.problems[0].fatal


def test_changes_are_seen_and_unchanged_files_not_reparsed(tmp_path: Path) -> None:
    root, cache = tmp_path / "store", tmp_path / "cache"
    path = write_article(root, "a", title="Старый")
    write_article(root, "b", title="Другой")
    store = open_store(root, cache)
    generation = store.snapshot.generation
    assert store.refresh() is False and store.snapshot.generation == generation
    path.write_text(path.read_text(encoding="utf-8").replace("Старый", "Новый!"),
                    encoding="utf-8")
    assert store.refresh() is True
    assert title_of(store, "a") == "Новый!"
    path.unlink()
    store.refresh()
    assert list(store.snapshot.by_id) == ["b"]


def test_a_restart_reuses_the_index_instead_of_parsing(tmp_path: Path) -> None:
    root, cache = tmp_path / "store", tmp_path / "cache"
    path = write_article(root, "a", title="Один")
    open_store(root, cache)
    # Same size and mtime, other text: only a re-parse could see the change.
    stat = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("Один", "Ёлка"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert title_of(open_store(root, cache), "a") == "Один"


def test_a_restart_publishes_from_the_index_what_parsing_did(tmp_path: Path) -> None:
    """A start turns the index rows into entries in bulk; every kind of row must come
    out as the first start, which parsed the files, published it."""
    root, cache = tmp_path / "store", tmp_path / "cache"
    write_article(root, "s1", rubric="Спорт", published="2 марта 2025, 10:00")
    write_article(root, "s2", rubric="Sport")  # the same usual slug as Спорт's: it differs
    write_article(root, "f1", rubric="Feeds", folder="2025")  # a reserved slug
    write_article(root, "p1", photo=image_bytes("PNG"), photo_ext="png", folder="2025")
    write_article(root, "p2", photo=b"<html>not an image</html>")
    write(root, "cp.txt", article_text("Экономика", "5 мая 2025, 08:00", "Курс",
                                       ["Курс не изменился."]).encode("cp1251"))
    write(root, "bad.txt", "no date line here\n")
    write_article(root, "dup", folder="a")
    write_article(root, "dup", title="Второй", folder="b")
    hour_ago = time.time() - 3600  # settled folders: the second start trusts their listings
    for path in [root, *root.rglob("*")]:
        os.utime(path, (hour_ago, hour_ago))
    first = open_store(root, cache).snapshot
    again = open_store(root, cache).snapshot
    assert again.entries == first.entries and len(first.entries) == 7
    assert again.by_slug == first.by_slug and again.rubrics == first.rubrics
    assert dict(again.by_id) == dict(first.by_id)
    assert again.problems == first.problems and len(first.problems) == 5
    assert (first.by_id["s1"].slug, first.by_id["s2"].slug) == ("sport", "sport-2")
    assert first.by_id["f1"].slug == "feeds-2"
    assert again.by_id["p1"].photo == first.by_id["p1"].photo is not None
    assert again.by_id["s1"].published == first.by_id["s1"].published


@pytest.mark.parametrize("damage", [b"", b"garbage" * 100, b"SQLite format 3\x00" + b"\xff" * 200])
def test_a_damaged_index_is_rebuilt(tmp_path: Path, damage: bytes) -> None:
    root, cache = tmp_path / "store", tmp_path / "cache"
    write_article(root, "a", title="Один")
    open_store(root, cache).stop()
    index = index_file_for(cache, root)
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.write_bytes(damage)
    assert title_of(open_store(root, cache), "a") == "Один"


def test_problems_are_logged_once_per_file_version(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    root, cache = tmp_path / "store", tmp_path / "cache"
    write(root, "bad.txt", "Общество\n31 февраля 2025, 10:00\n\nЗаголовок\n\nТекст.\n")
    caplog.set_level(logging.WARNING, "feeds.store")
    store = open_store(root, cache)
    write_article(root, "good")
    store.refresh()
    open_store(root, cache)  # another worker sharing the index
    messages = [r.getMessage() for r in caplog.records if "bad.txt" in r.getMessage()]
    assert messages == [f"{root}/bad.txt:2: impossible date or time '31 февраля 2025, 10:00'"]


def test_embargo_is_applied_at_query_time(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "now", published="1 марта 2025, 10:00")
    write_article(root, "later", published="1 марта 2025, 12:00")
    snapshot = open_store(root, tmp_path / "cache").snapshot
    noon = snapshot.by_id["later"].published.timestamp()
    assert [e.id for e in snapshot.released(None, noon - 1)] == ["now"]
    assert [e.id for e in snapshot.released(None, noon)] == ["later", "now"]
    assert snapshot.next_release(noon - 1) == noon
    assert snapshot.embargoed_count("society", noon - 1) == 1


class _DyingConnection:
    """An index connection whose process dies inside its next write, before the commit."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db.__enter__()

    def __exit__(self, *exc: object) -> None:
        os._exit(3)

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)


def test_a_restart_after_a_crash_mid_update_loses_nothing(tmp_path: Path) -> None:
    root, cache = tmp_path / "store", tmp_path / "cache"
    for name in ("a", "b", "c"):
        write_article(root, name, title=f"Старое {name}", folder="2025/03")
    open_store(root, cache).stop()
    write_article(root, "d", title="Новое d", folder="2025/03")
    write_article(root, "a", title="Правка a", folder="2025/03")
    (root / "2025/03/b.txt").unlink()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child never returns
        store = Store(root, index_file_for(cache, root))
        store._open_index().db = _DyingConnection(store._open_index().db)  # type: ignore[assignment]
        store.refresh()
        os._exit(0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 3  # it died in the middle of writing
    store = open_store(root, cache)
    entries = list(store.snapshot.by_id.values())
    assert dict(zip([e.id for e in entries], store.titles(entries), strict=True)) == {
        "a": "Правка a", "c": "Старое c", "d": "Новое d"}
