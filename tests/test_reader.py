"""Opening a store file only if, links followed, it is inside the store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feeds.reader import ArticleReader, open_inside, read_open
from feeds.scan import inside
from tests.storekit import write_article


@pytest.fixture
def root(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    write_article(outside, "secret", title="Секрет")
    store = tmp_path / "store"
    write_article(store, "inside", folder="2025/03")
    os.symlink(outside, store / "linkdir")
    os.symlink(outside / "secret.txt", store / "secret.txt")
    os.symlink(store / "2025" / "03" / "inside.txt", store / "alias.txt")
    os.symlink(store / "2025", store / "2025" / "03" / "up")
    os.symlink(store, store / "loop")
    os.symlink(tmp_path / "nowhere.txt", store / "dangling.txt")
    os.mkfifo(store / "fifo.txt")
    return store


PATHS = ["2025/03/inside.txt", "linkdir/secret.txt", "secret.txt", "alias.txt",
         "2025/03/up/03/inside.txt", "loop/loop/2025/03/inside.txt", "loop/secret.txt",
         "loop/linkdir/secret.txt"]


def test_opened_exactly_when_the_real_path_is_inside(root: Path) -> None:
    real_root = os.path.realpath(root)
    for rel in PATHS:
        path = os.path.join(real_root, rel)
        fd = open_inside(path, real_root)
        assert (fd is not None) == inside(real_root, os.path.realpath(path)), rel
        if fd is not None:
            assert "Заголовок".encode() in read_open(fd, 10_000)
    assert open_inside(f"{real_root}/dangling.txt", real_root) is None
    with pytest.raises(FileNotFoundError):
        open_inside(f"{real_root}/gone/x.txt", real_root)


def test_a_fifo_is_opened_without_blocking_and_refused(root: Path) -> None:
    fd = open_inside(f"{os.path.realpath(root)}/fifo.txt", os.path.realpath(root))
    assert fd is not None
    with pytest.raises(OSError, match="not a regular file"):
        read_open(fd, 10)


@pytest.mark.parametrize("kernel", [True, False])
def test_reader_reads_inside_and_refuses_outside(root: Path, kernel: bool) -> None:
    real_root = os.path.realpath(root)
    reader = ArticleReader(str, lambda rel: os.path.join(real_root, rel),
                           lambda path: inside(real_root, os.path.realpath(path)), 100_000,
                           real_root if kernel else None)
    assert (reader.root is not None) == kernel
    for rel in PATHS:
        reading = reader.read(rel)
        refused = not inside(real_root, os.path.realpath(os.path.join(real_root, rel)))
        assert (reading.article is None) == refused, rel
        if refused:
            assert reading.problem is not None and "outside the store" in reading.problem.reason
