"""The incremental static export: what it renders, writes, keeps and removes."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask

from feeds.export import CHANGES, MANIFEST, STATE_DIR, Signer, file_for, plan
from tests.appkit import BASE, make_app
from tests.storekit import image_bytes, tiny_store, write, write_article

ROOT = Path(__file__).resolve().parent.parent


def build(app: Flask, out: Path) -> dict:
    result = app.test_cli_runner().invoke(args=["build", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / STATE_DIR / CHANGES).read_text(encoding="utf-8"))


def owned(out: Path) -> dict[str, list]:
    return json.loads((out / STATE_DIR / MANIFEST).read_bytes())["files"]  # type: ignore[no-any-return]


def tree(out: Path) -> dict[str, bytes]:
    """Every file of the export folder but the build's own state."""
    return {str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*"))
            if path.is_file() and STATE_DIR not in path.parts}


def assert_matches_server(app: Flask, out: Path) -> None:
    """Every owned file, and its .gz twin, is byte for byte the server's answer."""
    client = app.test_client()
    for path, (_signature, _etag, size, gz_size, _max_age) in owned(out).items():
        served = client.get(path)
        assert served.status_code == 200, path
        target = out / file_for(path)
        assert target.read_bytes() == served.data, path
        assert size == len(served.data)
        if gz_size >= 0:
            packed = client.get(path, headers={"Accept-Encoding": "gzip"}).data
            assert (out / (file_for(path) + ".gz")).read_bytes() == packed, path
            assert gzip.decompress(packed) == served.data
        else:
            assert not (out / (file_for(path) + ".gz")).exists()


def test_a_new_article_renders_only_what_shows_it(tmp_path: Path, store_dir: Path) -> None:
    app = make_app(store_dir, tmp_path / "cache")
    out = tmp_path / "site"
    first = build(app, out)
    assert "feeds/all.rss" in first["added"] and "feeds/all.rss.gz" in first["added"]
    assert set(first["added"]) == set(tree(out))
    stamps = {name: (out / name).stat().st_mtime_ns for name in tree(out)}

    again = build(app, out)
    assert again == {**again, "added": [], "changed": [], "removed": [], "failed": []}
    assert {name: (out / name).stat().st_mtime_ns for name in tree(out)} == stamps

    write_article(store_dir, "004_sport", "Спорт", "4 марта 2025, 08:00", "Новый матч",
                  photo=image_bytes("JPEG", (20, 20)))
    app.extensions["feeds"].store.refresh()
    changes = build(app, out)
    assert set(changes["added"]) == {"articles/004_sport.html", "articles/004_sport.html.gz",
                                     "photos/004_sport.jpg"}
    changed = set(changes["changed"])
    for name in ("feeds/all.rss", "feeds/all.json.gz", "feeds/sport.atom",
                 "feeds/all/archive/1.rss", "feeds/sport/archive/1.json", "index.html",
                 "sport/index.html", "feeds.opml"):
        assert name in changed, name
    # Other rubrics' feeds, pages and the other articles are left alone.
    untouched = [name for name in tree(out) if name.startswith(
        ("feeds/nauka", "feeds/culture", "articles/00", "photos/00", "nauka/", "static/"))
        and "004_sport" not in name]
    assert untouched and not changed & set(untouched)
    assert all((out / name).stat().st_mtime_ns == stamps[name] for name in untouched)
    assert changes["removed"] == []
    assert_matches_server(app, out)


def test_edits_and_deletions_match_a_fresh_build(tmp_path: Path, store_dir: Path) -> None:
    app = make_app(store_dir, tmp_path / "cache")
    out = tmp_path / "site"
    build(app, out)
    (out / "humans.txt").write_text("User-agent: *\n")  # not the export's: never touched
    (out / "feeds" / "partner.xml").write_text("<partner/>")
    (store_dir / "001_sport.txt").unlink()  # retracted: page, photo, feed entries go
    (store_dir / "001_sport.jpg").unlink()
    text = (store_dir / "003_science.txt").read_text(encoding="utf-8")
    write(store_dir, "003_science.txt", text.replace("Сплав легче алюминия.", "Сплав прочнее."))
    write(store_dir, "_default.png", image_bytes("PNG", (32, 32), (1, 2, 3)))
    app.extensions["feeds"].store.refresh()

    changes = build(app, out)
    removed = set(changes["removed"])
    assert {"articles/001_sport.html", "articles/001_sport.html.gz", "photos/001_sport.png",
            "feeds/sport.rss", "feeds/sport.rss.gz", "feeds/sport/archive/1.atom",
            "feeds/yandex/sport.rss", "sport/index.html"} <= removed
    assert not (out / "sport").exists() and not (out / "feeds" / "sport").exists()
    assert "articles/003_science.html" in changes["changed"]
    assert "photos/_default.png" in changes["changed"]
    assert b"001_sport" not in (out / "feeds" / "all.rss").read_bytes()
    assert (out / "humans.txt").exists() and (out / "feeds" / "partner.xml").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert_matches_server(app, out)

    fresh = tmp_path / "fresh"
    build(make_app(store_dir, tmp_path / "cache2"), fresh)
    incremental = tree(out)
    del incremental["humans.txt"], incremental["feeds/partner.xml"]
    assert incremental == tree(fresh)


def test_a_file_lost_from_the_export_is_written_again(tmp_path: Path, store_dir: Path) -> None:
    app = make_app(store_dir, tmp_path / "cache")
    out = tmp_path / "site"
    build(app, out)
    (out / "feeds" / "all.atom.gz").unlink()
    (out / "articles" / "002_culture.html").write_text("damaged")
    changes = build(app, out)
    assert set(changes["changed"]) >= {"feeds/all.atom.gz", "articles/002_culture.html"}
    assert_matches_server(app, out)


def test_watch_follows_new_and_deleted_articles(tmp_path: Path) -> None:
    store = tiny_store(tmp_path / "store")
    out = tmp_path / "site"
    env = {**os.environ, "FEEDS_CONTENT_DIR": str(store), "FEEDS_CACHE_DIR": str(tmp_path / "c"),
           "FEEDS_BASE_URL": BASE, "FEEDS_REFRESH_INTERVAL": "0.2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "build", str(out), "--watch"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: (out / STATE_DIR / MANIFEST).exists(), process)
        write_article(store, "010_news", "Общество", "5 марта 2025, 12:00", "Срочная новость")
        wait_for(lambda: b"010_news" in (out / "feeds" / "all.rss").read_bytes(), process)
        assert (out / "articles" / "010_news.html.gz").exists()
        (store / "010_news.txt").unlink()
        wait_for(lambda: not (out / "articles" / "010_news.html").exists(), process)
        assert b"010_news" not in (out / "feeds" / "all.rss").read_bytes()
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    assert "1 removed" not in output.splitlines()[0]
    assert "Traceback" not in output


def wait_for(condition: object, process: subprocess.Popen[bytes], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the watching build exited"
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail("the export did not follow the store in time")


def test_the_export_owns_every_path_the_service_lists(tmp_path: Path, store_dir: Path) -> None:
    from feeds.cli import export_paths

    app = make_app(store_dir, tmp_path / "cache")
    out = tmp_path / "site"
    build(app, out)
    paths = export_paths(app)
    assert len(paths) == len(set(paths)) > 50
    assert set(owned(out)) == set(paths)


def test_only_the_filling_archive_page_is_marked(tmp_path: Path) -> None:
    from tests.storekit import date_line

    root = tmp_path / "store"
    for n in range(12):
        write_article(root, f"a{n:02d}", "Спорт", date_line(2024, 3, 1 + n, 10, 0), f"Н{n}")
    app = make_app(root, tmp_path / "cache", archive_page_size=10)
    out = tmp_path / "site"
    build(app, out)
    filling = out / STATE_DIR / "filling" / "feeds"
    assert sorted(str(p.relative_to(filling)) for p in filling.rglob("*.*")) == [
        f"{name}/archive/2.{fmt}" for name in ("all", "sport") for fmt in ("atom", "json", "rss")]
    for n in range(12, 20):
        write_article(root, f"a{n:02d}", "Спорт", date_line(2024, 3, 1 + n, 10, 0), f"Н{n}")
    app.extensions["feeds"].store.refresh()
    build(app, out)
    assert not list(filling.rglob("*.*"))  # page 2 is full now; no page 3 yet
    assert app.test_client().get("/feeds/all/archive/2.rss").headers[
        "Cache-Control"] == "public, max-age=3600"
    write_article(root, "a20", "Спорт", date_line(2024, 3, 25, 10, 0), "Н20")
    app.extensions["feeds"].store.refresh()
    build(app, out)
    assert (filling / "all" / "archive" / "3.rss").exists()
    assert not (filling / "all" / "archive" / "2.rss").exists()


def test_an_archive_page_that_settles_is_written_again_with_its_new_lifetime(
        tmp_path: Path) -> None:
    """A full page turns into settled history a month after its newest entry: the export
    must render it again then, or nginx would keep the short lifetime the service left."""
    from feeds.export import Signer, plan
    from tests.storekit import date_ago

    root = tmp_path / "store"
    for n in range(12):
        write_article(root, f"a{n:02d}", "Спорт", date_ago(20 - n), f"Н{n}")
    app = make_app(root, tmp_path / "cache", archive_page_size=10)
    app.extensions["feeds"].store.refresh()
    now = time.time()
    today, later = plan(app, Signer(), now), plan(app, Signer(), now + 20 * 86400)
    assert today["/feeds/all/archive/1.rss"] != later["/feeds/all/archive/1.rss"]
    assert today["/feeds/all/archive/2.rss"] == later["/feeds/all/archive/2.rss"]  # filling


def test_a_watching_run_may_leave_the_long_tail_for_later(tmp_path: Path) -> None:
    from feeds.export import Exporter
    from tests.storekit import date_line

    root = tmp_path / "store"
    for n in range(59):  # one older-news listing, /page/1/; the new article fills /page/2/
        published = date_line(2024, 1 + n % 12, 1 + n % 28, 9, n % 60)
        write_article(root, f"a{n:02d}", "Спорт", published, f"Н{n}")
    app = make_app(root, tmp_path / "cache")
    out = tmp_path / "site"
    exporter = Exporter(app, out)
    exporter.run()
    write_article(root, "z_new", "Спорт", date_line(2025, 1, 1, 9, 0), "Новая")
    app.extensions["feeds"].store.refresh()
    early = exporter.run(interrupted=lambda: True)
    assert early.deferred >= 2 and b"z_new" in (out / "feeds" / "all.rss").read_bytes()
    assert not [name for name in early.changed if "/page/" in name]
    rest = exporter.run()
    assert rest.deferred == 0 and rest.rendered == early.deferred
    assert {name for name in rest.added if not name.endswith(".gz")} == {
        "page/2/index.html", "sport/page/2/index.html"}
    assert {name for name in rest.changed if "page/" in name and not name.endswith(".gz")} == {
        "page/1/index.html", "sport/page/1/index.html"}  # their newer link: /page/2/
    assert_matches_server(app, out)


def test_a_reused_signer_plans_exactly_what_a_fresh_one_does(tmp_path: Path,
                                                              store_dir: Path) -> None:
    """The watching build's tables (Signer) never keep a stale signature."""
    app = make_app(store_dir, tmp_path / "cache")
    store = app.extensions["feeds"].store
    reused = Signer()
    now = time.time()
    assert plan(app, reused, now) == plan(app, Signer(), now)
    steps = [lambda: write_article(store_dir, "001_sport", "Спорт", "3 марта 2025, 08:00",
                                   "Исправленный заголовок"),
             lambda: write_article(store_dir, "005_new", "Спорт", "5 марта 2025, 08:00", "Ещё",
                                   photo=image_bytes("JPEG", (20, 20))),
             lambda: (store_dir / "001_sport.txt").unlink()]
    for step in steps:
        before = plan(app, reused, now)
        step()
        store.refresh()
        after = plan(app, reused, now)
        assert after == plan(app, Signer(), now)
        assert after != before
