"""RFC 5005 archives and the static export."""

from __future__ import annotations

import gzip
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from flask.testing import FlaskClient
from lxml import etree
from werkzeug.test import TestResponse

from feeds.parse import MINSK
from feeds.publish import ARCHIVE_MAX_AGE
from tests.appkit import BASE, make_app
from tests.storekit import date_ago, date_line, write_article

NS = {"atom": "http://www.w3.org/2005/Atom", "fh": "http://purl.org/syndication/history/1.0"}


@pytest.fixture
def archive_client(tmp_path: Path) -> FlaskClient:
    root = tmp_path / "store"
    for n in range(57):
        rubric = "Спорт" if n % 3 == 0 else "Экономика"
        write_article(root, f"a{n:03d}", rubric, date_line(2024, 1 + n % 12, 1 + n % 28, 10, n),
                      f"Новость номер {n}")
    return make_app(root, tmp_path / "cache", archive_page_size=10, limit=5).test_client()


def walk(client: FlaskClient, url: str) -> tuple[list[str], list[str]]:
    """Follow prev-archive links from a subscription document; return ids per document."""
    ids: list[str] = []
    pages: list[str] = []
    url = client.get(url).data and url
    document = etree.fromstring(client.get(url).data)
    link = document.find("atom:link[@rel='prev-archive']", NS)
    while link is not None:
        page_url = link.get("href").replace(BASE, "")
        pages.append(page_url)
        response = client.get(page_url)
        assert response.status_code == 200
        page = etree.fromstring(response.data)
        assert page.find("fh:archive", NS) is not None
        assert page.find("atom:link[@rel='current']", NS).get("href") == BASE + url
        ids += [e.findtext("atom:id", namespaces=NS) for e in page.findall("atom:entry", NS)]
        link = page.find("atom:link[@rel='prev-archive']", NS)
    return ids, pages


@pytest.mark.parametrize("name,count", [("all", 57), ("sport", 19), ("economics", 38)])
def test_archive_walk_reaches_every_article_once(archive_client: FlaskClient, name: str,
                                                 count: int) -> None:
    ids, pages = walk(archive_client, f"/feeds/{name}.atom")
    assert len(ids) == count
    assert len(set(ids)) == count
    assert len(pages) == -(-count // 10)


def test_full_archive_pages_are_cached_long_and_linked_both_ways(
        archive_client: FlaskClient) -> None:
    full = archive_client.get("/feeds/all/archive/2.rss")
    assert full.headers["Cache-Control"] == "public, max-age=3600"
    latest = archive_client.get("/feeds/all/archive/6.rss")
    assert latest.headers["Cache-Control"] == "public, max-age=120"
    channel = etree.fromstring(full.data).find("channel")
    rels = {link.get("rel"): link.get("href") for link in channel.findall("atom:link", NS)}
    assert rels["prev-archive"] == f"{BASE}/feeds/all/archive/1.rss"
    assert rels["next-archive"] == f"{BASE}/feeds/all/archive/3.rss"
    assert rels["current"] == f"{BASE}/feeds/all.rss"
    assert channel.find("fh:archive", NS) is not None
    assert not feedparser.parse(full.data).bozo
    first = etree.fromstring(archive_client.get("/feeds/all/archive/1.atom").data)
    assert first.find("atom:link[@rel='prev-archive']", NS) is None
    json_page = archive_client.get("/feeds/all/archive/3.json").get_json()
    assert json_page["next_url"] == f"{BASE}/feeds/all/archive/2.json"


def test_static_export_matches_the_server(tmp_path: Path, store_dir: Path) -> None:
    app = make_app(store_dir, tmp_path / "cache")
    out = tmp_path / "site"
    result = app.test_cli_runner().invoke(args=["build", str(out)])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    checked = 0
    for path in ["/", "/sport/", "/feeds.opml", "/feeds/all.rss", "/feeds/nauka.json",
                 "/feeds/all/archive/1.atom", "/articles/001_sport.html",
                 "/photos/001_sport.png", "/photos/_default.png", "/static/logo.png"]:
        served = client.get(path)
        file = out / (path.lstrip("/") + ("index.html" if path.endswith("/") else ""))
        assert file.read_bytes() == served.data, path
        if not served.mimetype.startswith("image/"):
            packed = client.get(path, headers={"Accept-Encoding": "gzip"}).data
            assert (file.parent / (file.name + ".gz")).read_bytes() == packed
            assert gzip.decompress(packed) == served.data
        checked += 1
    assert checked == 10
    again = app.test_cli_runner().invoke(args=["build", str(out)])
    assert "0 resources rendered, 0 files added, 0 changed, 0 removed, 0 failed" in again.output


def test_pages_sent_for_a_week_never_change_when_a_recent_article_is_backdated(
        tmp_path: Path) -> None:
    root = tmp_path / "store"
    for n in range(20):  # settled history: pages 1 and 2
        write_article(root, f"old{n:02d}", published=date_line(2024, 5, 1 + n, 10, 0))
    now = datetime.now(MINSK)
    for n in range(15):  # the last fortnight: page 3 (full) and page 4 (filling)
        moment = now - timedelta(days=15 - n)
        write_article(root, f"new{n:02d}", published=date_line(
            moment.year, moment.month, moment.day, moment.hour, moment.minute))
    app = make_app(root, tmp_path / "cache", archive_page_size=10)
    client = app.test_client()
    before = {page: client.get(f"/feeds/all/archive/{page}.rss") for page in (1, 2, 3, 4)}
    lifetimes = {page: r.headers["Cache-Control"] for page, r in before.items()}
    assert lifetimes == {1: "public, max-age=3600", 2: "public, max-age=3600",
                         3: "public, max-age=120", 4: "public, max-age=120"}
    late = now - timedelta(days=12)  # sent late, dated when it happened
    write_article(root, "late", published=date_line(late.year, late.month, late.day, 9, 0))
    app.extensions["feeds"].store.refresh()
    for page, response in before.items():
        after = client.get(f"/feeds/all/archive/{page}.rss")
        if response.headers["Cache-Control"] == "public, max-age=3600":
            assert after.data == response.data, page
    assert client.get("/feeds/all/archive/3.rss").data != before[3].data


def _max_age(response: TestResponse) -> int:
    return int(response.headers["Cache-Control"].rpartition("max-age=")[2])


@pytest.mark.parametrize("change", ["backdated", "edited", "deleted"])
def test_an_archive_page_that_changes_was_never_promised_for_long(
        tmp_path: Path, change: str) -> None:
    """A change to an article months old reaches every cache within the hour the pages
    it changes were sent with, and revalidation sees it by ETag and by date."""
    root = tmp_path / "store"
    for n in range(30):  # settled history: pages 1 to 3
        write_article(root, f"old{n:02d}", published=date_line(2024, 5, 1 + n, 10, 0),
                      title=f"Старая {n}")
    for n in range(5):  # page 4, still filling
        write_article(root, f"new{n}", published=date_ago(5 - n))
    written = time.time() - 2 * 86400  # files and folder written two days ago
    for path in [*root.iterdir(), root]:
        os.utime(path, (written, written))
    app = make_app(root, tmp_path / "cache", archive_page_size=10)
    client = app.test_client()
    urls = [f"/feeds/all/archive/{page}.rss" for page in (1, 2, 3, 4)]
    before = {url: client.get(url) for url in urls}
    assert [_max_age(before[url]) for url in urls] == [ARCHIVE_MAX_AGE] * 3 + [120]
    if change == "backdated":  # sent today, dated last May
        write_article(root, "late", published=date_line(2024, 5, 4, 12, 0), title="Поздняя")
    elif change == "edited":
        write_article(root, "old14", published=date_line(2024, 5, 15, 10, 0),
                      title="Исправленная")
    else:  # retracted
        (root / "old03.txt").unlink()
    app.extensions["feeds"].store.refresh()
    changed = 0
    for url, response in before.items():
        after = client.get(url)
        old_etag = response.headers["ETag"]
        by_etag = client.get(url, headers={"If-None-Match": old_etag})
        by_date = client.get(url, headers={"If-Modified-Since": response.headers[
            "Last-Modified"]})
        if after.data == response.data:
            assert by_etag.status_code == 304, url  # an unchanged page stays a 304
            continue
        changed += url != urls[-1]
        assert _max_age(response) <= ARCHIVE_MAX_AGE <= 3600, url
        assert by_etag.status_code == by_date.status_code == 200, url
        assert by_etag.data == by_date.data == after.data
    assert changed  # settled history did change: only a short promise keeps caches right
