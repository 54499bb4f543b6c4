"""Scanning: which walk notices which change, and listings saved for the next start."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from feeds import scan
from feeds.scan import FileStat, Scanner, folder_row, seeded
from tests.storekit import write, write_article

OLD = time.time() - 86400


def store_of(root: Path, days: int = 30) -> Path:
    """One article a day in YYYY/MM/DD folders, every file and folder a day old or more."""
    for day in range(1, days + 1):
        write_article(root, f"a{day:02d}", folder=f"2025/03/{day:02d}")
        os.utime(root / f"2025/03/{day:02d}/a{day:02d}.txt", (OLD + day, OLD + day))
        os.utime(root / f"2025/03/{day:02d}", (OLD + day, OLD + day))
    for folder in ("2025/03", "2025", ""):
        os.utime(root / folder, (OLD, OLD))
    return root


def quiet(scanner: Scanner) -> Scanner:
    """No sweep and no full stat until asked: only the hot folders and recent files."""
    scanner._next_sweep = time.monotonic() + 3600
    scanner.rolling, scanner.roll_share = True, 0.0
    return scanner


def scanned(root: Path) -> Scanner:
    scanner = Scanner(os.path.realpath(root), str)
    changes = scanner.scan()
    assert len(changes.texts) == len(list(root.rglob("*.txt")))
    return quiet(scanner)


def test_a_new_article_in_the_newest_folder_is_seen_by_the_quick_scan(tmp_path: Path) -> None:
    root = store_of(tmp_path / "s")
    scanner = scanned(root)
    write_article(root, "new", folder="2025/03/30")
    assert list(scanner.scan().texts) == ["2025/03/30/new.txt"]
    write_article(root, "day31", folder="2025/03/31")  # a new folder shows in its parent
    assert list(scanner.scan().texts) == ["2025/03/31/day31.txt"]
    assert not scanner.scan()


def test_an_old_folder_waits_for_the_sweep(tmp_path: Path) -> None:
    root = store_of(tmp_path / "s")
    scanner = scanned(root)
    scanner.recent.clear()  # else the deletion shows through the recent files' stats
    write_article(root, "late", folder="2025/03/02")
    (root / "2025/03/03/a03.txt").unlink()
    assert not scanner.scan().texts
    scanner._next_sweep = 0
    assert scanner.scan().texts == {"2025/03/02/late.txt": scanner.stat_of("2025/03/02/late.txt"),
                                    "2025/03/03/a03.txt": None}


def test_in_place_edits_of_recent_files_show_at_once_old_ones_in_their_turn(tmp_path: Path) -> None:
    root = store_of(tmp_path / "s")
    scanner = scanned(root)
    recent, old = root / "2025/03/30/a30.txt", root / "2025/03/01/a01.txt"
    for path in (recent, old):
        folder = path.parent.stat()
        path.write_text(path.read_text(encoding="utf-8") + "Еще абзац.\n", encoding="utf-8")
        os.utime(path.parent, ns=(folder.st_atime_ns, folder.st_mtime_ns))
    scanner.recent = {"2025/03/30/a30.txt"}
    assert list(scanner.scan().texts) == ["2025/03/30/a30.txt"]
    scanner._next_sweep = 0
    assert not scanner.scan().texts  # the folder's mtime holds: its listing is kept
    scanner.roll_budget = 10.0  # time for a whole round: every folder listed again
    assert list(scanner.scan().texts) == ["2025/03/01/a01.txt"]


def test_a_folder_changed_within_the_settle_time_is_listed_again(tmp_path: Path) -> None:
    root = tmp_path / "s"
    write_article(root, "a", folder="2025")
    scanner = scanned(root)
    path = root / "2025"
    mtime = path.stat().st_mtime_ns
    write_article(root, "b", folder="2025")
    os.utime(path, ns=(mtime, mtime))  # as if b came within the same clock tick
    assert list(scanner.scan().texts) == ["2025/b.txt"]


def test_saved_listings_are_trusted_until_their_folder_changes(tmp_path: Path) -> None:
    root = store_of(tmp_path / "s", days=5)
    first = scanned(root)
    folders = {rel: folder_row(rel, folder, ()) for rel, folder in first.folders.items()}
    assert folders["2025/03/01"].names == "a01.txt" and folders["2025/03"].names.startswith("01/")
    rows = dict(first.texts())  # the stats the index rows were made from
    (root / "2025/03/02/a02.txt").unlink()  # while "stopped"
    write(root, "2025/03/04/a04.jpg", b"x")
    again = Scanner(os.path.realpath(root), str)
    again.seed(seeded(folders, lambda rel: (rel, rows[rel]) if rel in rows else None, {}))
    assert len(list(again.texts())) == 5
    again.rolling, again.roll_share = True, 0.0  # the first scan is a sweep: folders only
    changes = again.scan()
    assert changes.texts == {"2025/03/02/a02.txt": None}
    assert set(changes.photos) == {"2025/03/04/a04.jpg"}
    assert sorted(changes.listed) == ["2025/03/02", "2025/03/04"]


def test_a_listing_without_rows_for_its_files_is_not_trusted(tmp_path: Path) -> None:
    root = store_of(tmp_path / "s", days=2)
    first = scanned(root)
    folders = {rel: folder_row(rel, folder, ()) for rel, folder in first.folders.items()}
    again = Scanner(os.path.realpath(root), str)
    again.seed(seeded(folders, lambda rel: None, {}))
    assert "2025/03/01" not in again.folders and "2025/03" in again.folders
    assert set(again.scan().texts) == {"2025/03/01/a01.txt", "2025/03/02/a02.txt"}


def test_file_stat_compares_as_a_tuple() -> None:
    assert FileStat(1, 2) == (1, 2)


def test_the_rolling_restat_spends_only_its_budget(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = store_of(tmp_path / "s")
    scanner = scanned(root)
    listed: list[str] = []
    real = scan.list_folder
    monkeypatch.setattr(scan, "list_folder",
                        lambda root_, rel, *rest: listed.append(rel) or real(root_, rel, *rest))
    scanner.roll_share = scan._ROLL_SHARE  # of a core, as in production
    for _ in range(20):  # back to back: the budget has no time to grow
        scanner.scan()
    assert len(listed) <= 3
    scanner.roll_budget = 10.0  # as after a long quiet spell: a whole round
    scanner.scan()
    assert set(listed) >= set(scanner.folders)
