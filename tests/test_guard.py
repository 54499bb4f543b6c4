"""The store is never silently empty; unreadable files are named; /healthz tells the truth."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

import pytest

from feeds.config import Settings
from feeds.guard import MASS_LOSS_MIN, Health, ScanGuard, StoreUnavailable
from feeds.health import health_report
from feeds.index import index_file_for
from feeds.snapshot import Snapshot
from feeds.store import Store
from feeds.web import create_app
from tests.appkit import make_app
from tests.storekit import date_line, image_bytes, write, write_article


def open_store(root: Path, cache: Path) -> Store:
    store = Store(root, index_file_for(cache, root))
    store.refresh()
    return store


def errors(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "feeds.store" and r.levelno == level]


@pytest.mark.parametrize("outage", ["renamed", "emptied", "unreadable_file"])
def test_a_lost_store_keeps_the_last_good_snapshot(tmp_path: Path, outage: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "store"
    for n in range(3):
        write_article(root, f"a{n}", title=f"Новость {n}")
    store = open_store(root, tmp_path / "cache")
    good = store.snapshot
    caplog.set_level(logging.INFO, "feeds.store")
    root.rename(tmp_path / "away")
    if outage == "emptied":
        root.mkdir()
    elif outage == "unreadable_file":
        root.write_text("not a folder")
    for _ in range(3):
        assert store.refresh() is False
    assert store.snapshot is good
    assert store.guard.health.status in ("unavailable", "empty")
    assert len(errors(caplog, logging.ERROR)) == 1
    assert str(root) in errors(caplog, logging.ERROR)[0]
    if outage == "emptied":
        root.rmdir()
    elif outage == "unreadable_file":
        root.unlink()
    (tmp_path / "away").rename(root)
    store.refresh()
    assert store.snapshot is good and store.guard.health.status == "ok"
    assert errors(caplog, logging.INFO) == [f"store {root} is back: 3 article files;"
                                            " publishing again"]
    assert len(errors(caplog, logging.ERROR)) == 1


def test_single_deletions_still_take_effect(tmp_path: Path) -> None:
    root = tmp_path / "store"
    paths = [write_article(root, f"a{n}") for n in range(MASS_LOSS_MIN)]
    store = open_store(root, tmp_path / "cache")
    for path in paths[:-1]:
        path.unlink()
        store.refresh()
    assert list(store.snapshot.by_id) == [f"a{MASS_LOSS_MIN - 1}"]
    assert store.guard.health.status == "ok"


def test_a_mass_loss_is_held_then_published_when_it_lasts(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "store"
    for n in range(MASS_LOSS_MIN):
        write_article(root, f"a{n:02d}", folder="old" if n % 4 else "new")
    store = open_store(root, tmp_path / "cache")
    clock = [1000.0]
    store.guard.clock = lambda: clock[0]
    caplog.set_level(logging.INFO, "feeds.store")
    shutil.rmtree(root / "old")  # a dropped sub-mount: three quarters gone at once
    store.refresh()
    assert len(store.snapshot.entries) == MASS_LOSS_MIN
    assert store.guard.health.status == "mass-loss"
    clock[0] += store.guard.hold + 1
    store.refresh()
    assert len(store.snapshot.entries) == MASS_LOSS_MIN // 4 + 1
    assert store.guard.health.status == "ok"
    assert len(errors(caplog, logging.ERROR)) == 1
    assert "publishing the store as it is now" in errors(caplog, logging.WARNING)[0]


def test_only_one_process_speaks_for_the_outage(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "store"
    write_article(root, "a")
    first, second = open_store(root, tmp_path / "cache"), open_store(root, tmp_path / "cache")
    caplog.set_level(logging.INFO, "feeds.store")
    root.rename(tmp_path / "away")
    first.refresh()
    second.refresh()
    assert len(errors(caplog, logging.ERROR)) == 1
    assert second.guard.health.status == "unavailable"


def test_a_fifo_and_a_vanishing_file_never_block_and_are_named(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "store"
    write_article(root, "good")
    gone = write_article(root, "gone")
    os.mkfifo(root / "x.txt")
    store = Store(root, index_file_for(tmp_path / "cache", root))
    scanner = store._scanner
    scan = scanner.scan

    def scan_then_delete(touched=()):  # type: ignore[no-untyped-def]
        found = scan(touched)
        gone.unlink(missing_ok=True)  # deleted between listing and reading
        return found

    scanner.scan = scan_then_delete  # type: ignore[method-assign]
    caplog.set_level(logging.WARNING, "feeds.store")
    store.refresh()
    problems = {os.path.basename(p.path): p.reason for p in store.snapshot.problems}
    assert problems == {"x.txt": "cannot read: it is a named pipe, not a regular file",
                        "gone.txt": "vanished while the store was being read"}
    assert list(store.snapshot.by_id) == ["good"]
    write_article(root, "later")
    store.refresh()
    store.refresh()
    logged = [m for m in errors(caplog, logging.WARNING)]
    assert sorted(logged) == sorted([f"{root}/gone.txt: vanished while the store was being read",
                                     f"{root}/x.txt: cannot read: it is a named pipe,"
                                     " not a regular file"])
    assert [p.path for p in store.snapshot.problems] == [f"{root}/x.txt"]


def test_a_missing_store_stops_the_app_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="no such folder"):
        make_app(tmp_path / "nowhere", tmp_path / "cache")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreUnavailable, match="not a folder"):
        make_app(tmp_path / "file", tmp_path / "cache")


def test_check_lists_the_embargo_queue_in_minsk_time(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "old", "Спорт", "1 марта 2025, 10:00", "Матч")
    write_article(root, "soon", "Спорт", date_line(2099, 1, 2, 9, 30), "Позже")
    write_article(root, "sooner", "Общество", date_line(2099, 1, 1, 8, 0), "Раньше")
    result = make_app(root, tmp_path / "cache").test_cli_runner().invoke(args=["check"])
    assert result.output == (
        "Articles per rubric:\n"
        "  society: 1 (Общество), 1 embargoed\n"
        "  sport: 2 (Спорт), 1 embargoed\n"
        "Embargoed, by release time (Minsk):\n"
        "  2099-01-01 08:00  sooner  Раньше\n"
        "  2099-01-02 09:30  soon  Позже\n"
        "3 articles, 2 rubrics, 0 problems (0 articles rejected)\n")
    assert result.exit_code == 0


def test_check_and_build_refuse_an_empty_store(tmp_path: Path) -> None:
    root, out = tmp_path / "store", tmp_path / "out"
    root.mkdir()
    out.mkdir()
    (out / "keep.rss").write_text("the last good export")
    runner = make_app(root, tmp_path / "cache").test_cli_runner()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1 and "no articles found" in result.output
    result = runner.invoke(args=["build", str(out)])
    assert result.exit_code == 1
    assert "no articles found; nothing written" in result.output
    assert [p.name for p in out.iterdir()] == ["keep.rss"]
    result = runner.invoke(args=["build", "--allow-empty", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "feeds" / "all.rss").exists()


def test_healthz_reports_counts_but_never_embargoed_titles(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "old", title="Видно")
    write_article(root, "secret", title="Секретный заголовок",
                  published=date_line(2099, 1, 1, 8, 0))
    write(root, "bad.txt", "мусор")
    client = make_app(root, tmp_path / "cache").test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert {k: body[k] for k in ("status", "articles", "rubrics", "rejected", "embargoed")} == {
        "status": "ok", "articles": 1, "rubrics": 1, "rejected": 1, "embargoed": 1}
    assert body["last_scan_age"] < 60 and body["last_scan"].endswith("+03:00")
    assert "secret" not in response.text and "Секрет" not in json.dumps(body)
    assert str(root) not in response.text


NOW = 2_000_000_000.0


@pytest.mark.parametrize(("health", "age", "status"), [
    (Health("starting", "the first scan is running", None, 0.0), None, "starting"),
    (Health("ok", None, NOW, 0.1), 4.0, "ok"),
    (Health("ok", None, NOW, 0.1), 6.0, "stale"),
    (Health("ok", None, NOW, 1.0), 14.0, "ok"),  # a slow scan sets its own pace
    (Health("unavailable", "no such folder", NOW, 0.1), 1.0, "unavailable"),
])
def test_healthz_is_503_unless_a_fresh_scan_of_a_usable_store(
        tmp_path: Path, health: Health, age: float | None, status: str) -> None:
    root = tmp_path / "store"
    write_article(root, "a")
    snapshot = open_store(root, tmp_path / "cache").snapshot
    code, body = health_report(health, snapshot, 1.0, NOW + (age or 0))
    assert (code, body["status"]) == ((200 if status == "ok" else 503), status)
    code, body = health_report(health, Snapshot(), 1.0, NOW + (age or 0))
    assert code == 503


def test_guard_accepts_a_first_empty_store_and_growth() -> None:
    guard = ScanGuard("store", None)
    assert guard.judge(".", 0, 0, True)
    assert guard.judge(".", 10, 0, False)
    assert guard.judge(".", MASS_LOSS_MIN, 2 * MASS_LOSS_MIN, False)  # exactly half is kept



def test_a_base_url_with_a_path_holds_every_link(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "a1", title="Новость")
    base = "https://belta.by/news"
    settings = Settings(content_dir=root, cache_dir=tmp_path / "cache", base_url=base)
    client = create_app({"SETTINGS": settings, "WATCH": False, "TESTING": True}).test_client()
    pages = ["/", "/society/", "/articles/a1.html", "/feeds/all.rss", "/feeds/all.atom",
             "/feeds/all.json", "/feeds/society.rss", "/feeds.opml", "/feeds/yandex.rss"]
    for page in pages:
        text = client.get(page).get_data(as_text=True)
        ours = re.findall(r"https?://belta\.by[^\"'<\s]*", text)
        assert ours and all(url.startswith(base + "/") for url in ours), (page, ours)
        assert not re.findall(r"(?:href|src)=\"/(?!news/)", text), page
    missing = client.get("/no-such-page/", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    rooted = re.findall(r"(?:href|src)=\"(/[^\"]*)\"", missing.get_data(as_text=True))
    assert rooted and all(href.startswith("/news/") for href in rooted), rooted


def test_a_lost_store_answers_503_rather_than_a_shorter_feed(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "a1", title="Первая", photo=image_bytes())
    write_article(root, "a2", title="Вторая", published=date_line(2025, 3, 4, 10, 0))
    app = make_app(root, tmp_path / "cache")
    client = app.test_client()
    newest = client.get("/feeds/all.rss?limit=1")  # reads the body of a2 alone
    store = app.extensions["feeds"].store
    root.rename(tmp_path / "away")
    store.refresh()
    assert client.get("/feeds/all.rss?limit=1").data == newest.data
    assert client.get("/feeds/all.json?limit=1").status_code == 200  # its body is known
    for path in ("/feeds/all.atom", "/articles/a1.html", "/photos/a1.jpg"):
        response = client.get(path)
        assert response.status_code == 503 and response.headers["Retry-After"] == "30", path
    (tmp_path / "away").rename(root)
    store.refresh()
    assert [client.get(p).status_code for p in ("/feeds/all.atom", "/photos/a1.jpg")] == [200,
                                                                                          200]
    assert client.get("/feeds/all.atom").data.count(b"<entry>") == 2
