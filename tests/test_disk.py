"""A failing cache folder: scanning goes on in memory and a good index is never deleted."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from feeds.index import index_file_for
from feeds.store import Store
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


def test_a_full_disk_keeps_the_index_and_new_articles_still_appear(tmp_path: Path) -> None:
    root = tmp_path / "store"
    for n in range(10):
        write_article(root, f"old{n}")
    index = index_file_for(tmp_path / "cache", root)
    store = Store(root, index)
    store.refresh()
    store.stop()
    result = subprocess.run([sys.executable, "-c", FULL_DISK, str(root), str(index)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["110"]
    with sqlite3.connect(index) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM articles").fetchone() == (10,)
    assert "keeps its index in memory" in result.stderr
