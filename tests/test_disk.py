"""A failing cache folder: scanning goes on in memory and a good index is never deleted."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest

from feeds import index as index_module
from feeds.index import ArticleIndex, index_file_for
from feeds.store import Store
from tests.appkit import make_app
from tests.serverkit import ROOT
from tests.storekit import write_article


def test_folders_in_place_of_the_index_and_its_lock_do_not_stop_scanning(
        tmp_path: Path) -> None:
    root = tmp_path / "store"
    for n in range(100):  # enough to make workers take turns through the lock file
        write_article(root, f"a{n}")
    index = index_file_for(tmp_path / "cache", root)
    Path(f"{index}.lock").mkdir(parents=True)
    store = Store(root, index)
    store.refresh()
    assert len(store.snapshot.entries) == 100
    store.stop()
    index.unlink()
    index.mkdir()
    store = Store(root, index)
    store.refresh()
    write_article(root, "later")
    store.refresh()
    assert len(store.snapshot.entries) == 101


FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    from feeds.store import Store
    from tests.storekit import write_article
    root, index = Path(sys.argv[1]), Path(sys.argv[2])
    store = Store(root, index)
    store.refresh()
    for n in range(100):
        write_article(root, f"new{n}")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file may grow: a full disk
    store.refresh()
    print(len(store.snapshot.entries))
""")


def run_on_a_full_disk(script: str, tmp_path: Path) -> tuple[Path, subprocess.CompletedProcess]:
    """An index of 10 articles, then the script in a child process over the same store."""
    root = tmp_path / "store"
    for n in range(10):
        write_article(root, f"old{n}")
    index = index_file_for(tmp_path / "cache", root)
    store = Store(root, index)
    store.refresh()
    store.stop()
    return index, subprocess.run([sys.executable, "-c", script, str(root), str(index)],
                                 cwd=ROOT, capture_output=True, text=True, timeout=60,
                                 check=True)


def test_a_full_disk_keeps_the_index_and_new_articles_still_appear(tmp_path: Path) -> None:
    index, result = run_on_a_full_disk(FULL_DISK, tmp_path)
    assert result.stdout.split() == ["110"]
    with sqlite3.connect(index) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM articles").fetchone() == (10,)
    assert "keeps its index in memory" in result.stderr


def _count(index: Path, table: str) -> int:
    with sqlite3.connect(index) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_back_on_the_file_once_the_folder_in_its_place_is_gone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(index_module, "_RETRY_FIRST", 0.0)  # try again at every scan
    caplog.set_level(logging.DEBUG, logger="feeds.index")
    root = tmp_path / "store"
    for n in range(5):
        write_article(root, f"before{n}", title=f"Прежняя {n}")
    cache = tmp_path / "cache"
    index = index_file_for(cache, root)
    index.mkdir(parents=True)  # a folder where the index should be
    app = make_app(root, cache)
    store = app.extensions["feeds"].store
    client = app.test_client()
    store.refresh()
    assert client.get("/healthz").get_json()["index"] == "memory"
    write_article(root, "during", title="Пока файла нет")
    store.refresh()
    assert store.index_where == "memory" and "during" in store.snapshot.by_id
    index.rmdir()
    store.refresh()  # no change in the store: a quiet scan gets back to the file too
    assert client.get("/healthz").get_json()["index"] == "file"
    assert _count(index, "articles") == _count(index, "search_docs") == 6
    assert _count(index, "folders") >= 1
    write_article(root, "after", title="Снова с файлом")
    store.refresh()
    assert _count(index, "articles") == 7
    found = client.get("/search?q=файла").get_data(as_text=True)
    assert "/articles/during.html" in found  # searched in the file, which has it
    messages = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    assert [level for level, _ in messages] == ["WARNING", "INFO"], messages
    assert "tries the file again" in messages[0][1] and "back on it" in messages[1][1]
    again = make_app(root, cache)  # a restart finds every article in the file
    assert len(again.extensions["feeds"].store.snapshot.entries) == 7


def test_tries_of_the_file_back_off_from_seconds_to_minutes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="feeds.index")
    now = [0.0]
    path = tmp_path / "cache" / "index.sqlite3"
    path.mkdir(parents=True)
    index = ArticleIndex(path, clock=lambda: now[0])
    tries: list[float] = []

    def scan_until(moment: float) -> None:
        while now[0] < moment:
            now[0] += 0.5
            before = len(caplog.records)
            index.save([], {}, [], [], [], [])
            if any("still cannot be used" in r.getMessage() for r in caplog.records[before:]):
                tries.append(now[0])

    scan_until(1000)
    gaps = [b - a for a, b in zip([0.0, *tries], tries, strict=False)]
    assert gaps[:6] == [5, 10, 20, 40, 80, 160] and set(gaps[6:]) == {300}
    path.rmdir()
    scan_until(tries[-1] + 299.5)
    assert index.where == "memory"  # not before the next try is due
    scan_until(tries[-1] + 300)
    assert index.where == "file" and index.path == path and index.problem is None


RETURNING = textwrap.dedent("""
    import logging, resource, signal, sys, time
    from pathlib import Path
    import feeds.index
    from feeds.store import Store
    from tests.storekit import write_article
    logging.basicConfig(level=logging.INFO)
    feeds.index._RETRY_FIRST = 0.2
    root, index = Path(sys.argv[1]), Path(sys.argv[2])
    store = Store(root, index)
    store.refresh()
    for n in range(20):
        write_article(root, f"full{n}")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))  # no file may grow: a full disk
    store.refresh()
    print(store.index_where, len(store.snapshot.entries))
    time.sleep(0.3)
    store.refresh()  # tried again: still full
    print(store.index_where, len(store.snapshot.entries))
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space again
    write_article(root, "freed")
    time.sleep(0.7)
    store.refresh()
    print(store.index_where, len(store.snapshot.entries))
""")


def test_a_full_disk_freed_again_puts_the_index_back_on_its_file(tmp_path: Path) -> None:
    index, result = run_on_a_full_disk(RETURNING, tmp_path)
    assert result.stdout.splitlines() == ["memory 30", "memory 30", "file 31"], result.stderr
    assert _count(index, "articles") == _count(index, "search_docs") == 31
    assert result.stderr.count("cannot be used") == 1, result.stderr
    assert result.stderr.count("back on it") == 1, result.stderr


def test_check_says_the_index_is_kept_in_memory(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "one")
    cache = tmp_path / "cache"
    index_file_for(cache, root).mkdir(parents=True)
    result = make_app(root, cache).test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output  # the store is sound; only the cache failed
    assert "cannot be used" in result.output and "kept in memory" in result.output


def test_an_index_in_memory_is_written_to_its_file_at_a_stop_when_it_can(
        tmp_path: Path) -> None:
    """As before a fork: the memory's rows would go with the connection."""
    root = tmp_path / "store"
    for n in range(4):
        write_article(root, f"a{n}")
    index = index_file_for(tmp_path / "cache", root)
    index.mkdir(parents=True)
    store = Store(root, index)  # the first try of the file is seconds away
    store.refresh()
    assert store.index_where == "memory"
    index.rmdir()
    store.stop()
    assert _count(index, "articles") == _count(index, "search_docs") == 4


def test_rows_lost_with_a_memory_index_at_a_fork_are_read_again_once_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn --preload: the master indexed the store in memory and that went with the
    close before the fork. Back on the file, the process reads again what the file lacks,
    so searches through the file (and the next start) find every article."""
    monkeypatch.setattr(index_module, "_RETRY_FIRST", 0.0)
    root = tmp_path / "store"
    for n in range(12):
        write_article(root, f"a{n:02d}", title=f"Заголовок номер {n}")
    cache = tmp_path / "cache"
    index = index_file_for(cache, root)
    index.mkdir(parents=True)
    app = make_app(root, cache)
    store = app.extensions["feeds"].store
    store._before_fork()  # what a fork does to this process's index: closed, opened again
    store._after_fork_in_parent()
    assert store.index_where == "memory"
    index.rmdir()
    store.refresh()  # back on the file: nothing of the memory's to carry over
    store.refresh()  # so the articles the file lacks are read again
    assert _count(index, "articles") == _count(index, "search_docs") == 12
    assert len(feedparser.parse(app.test_client().get(
        "/feeds/all.rss?q=" + quote("заголовок")).data).entries) == 12
