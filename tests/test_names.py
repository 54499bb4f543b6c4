"""File and folder names in any bytes: never a stopped scan, always named by `check`."""

from __future__ import annotations

import os
from pathlib import Path

import feedparser

from feeds.index import index_file_for
from feeds.store import Store
from tests.appkit import make_app
from tests.storekit import image_bytes, write_article

CP1251_FOLDER = "Новости".encode("cp1251")  # not UTF-8: a folder from a Windows desk


def odd_store(root: Path) -> Path:
    raw = os.fsencode(root)
    write_article(root, "plain", title="Обычная новость")
    os.makedirs(raw + b"/" + CP1251_FOLDER)
    inside = write_article(root, "in_odd_folder", title="Из папки в cp1251", folder="tmp")
    os.rename(inside, raw + b"/" + CP1251_FOLDER + b"/in_odd_folder.txt")
    with open(raw + b"/" + CP1251_FOLDER + b"/in_odd_folder.jpg", "wb") as fh:
        fh.write(image_bytes())
    text = (root / "plain.txt").read_bytes()
    for name in ["Статья".encode("cp1251") + b".txt", b"new\nline.txt", b"x" * 251 + b".txt"]:
        with open(raw + b"/" + name, "wb") as fh:
            fh.write(text)
    with open(raw + b"/" + "Фото".encode("cp1251") + b".jpg", "wb") as fh:
        fh.write(image_bytes())
    return root


def test_odd_names_are_named_by_check_and_good_articles_published(tmp_path: Path) -> None:
    root = odd_store(tmp_path / "store")
    app = make_app(root, tmp_path / "cache")
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    lines = result.output.replace(str(root), "STORE").splitlines()
    utf8_note = "file name is not valid UTF-8 (a Windows-1251 name?); rename it, the id comes"
    assert lines == [
        f"STORE/\\xd1\\xf2\\xe0\\xf2\\xfc\\xff.txt: {utf8_note} from the name; skipped",
        f"STORE/\\xd4\\xee\\xf2\\xee.jpg: {utf8_note} from the name; skipped",
        "STORE/new\\x0aline.txt: file name has control characters; rename it; skipped",
        "STORE/x" + "x" * 250 + ".txt: file name is longer than 200 bytes before .txt; skipped",
        "Articles per rubric:",
        "  society: 2 (Общество)",
        "2 articles, 1 rubrics, 4 problems (3 articles rejected)",
    ]
    client = app.test_client()
    feed = feedparser.parse(client.get("/feeds/all.rss").data)
    assert sorted(e.title for e in feed.entries) == ["Из папки в cp1251", "Обычная новость"]
    assert client.get("/photos/in_odd_folder.jpg").data == image_bytes()
    assert client.get("/articles/in_odd_folder.html").status_code == 200
    assert client.get("/").status_code == 200


def test_the_index_keeps_paths_in_any_bytes_across_restarts(tmp_path: Path) -> None:
    root = odd_store(tmp_path / "store")
    cache = index_file_for(tmp_path / "cache", root)
    Store(root, cache).refresh()
    again = Store(root, cache)
    again.refresh()
    entry = again.snapshot.by_id["in_odd_folder"]
    assert os.fsencode(entry.path) == CP1251_FOLDER + b"/in_odd_folder.txt"
    assert entry.photo is not None


def test_build_writes_every_good_article_of_an_odd_store(tmp_path: Path) -> None:
    root = odd_store(tmp_path / "store")
    app = make_app(root, tmp_path / "cache")
    out = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["build", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "articles" / "in_odd_folder.html").is_file()
    assert (out / "photos" / "in_odd_folder.jpg").read_bytes() == image_bytes()
