"""The HTTP surface through Flask's test client."""

from __future__ import annotations

import gzip
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from feeds.config import Settings
from feeds.model import FeedRequest
from feeds.web import create_app
from tests.appkit import BASE, make_app, refresh
from tests.storekit import SEED_ID, write_article


def feed_request(name: str) -> FeedRequest:
    return FeedRequest(name=name, fmt="rss", limit=50)


FEED_PATHS = [f"/feeds/{name}.{fmt}" for name in ("all", "society", "sport", "nauka")
              for fmt in ("rss", "atom", "json")]
TYPES = {"rss": "application/rss+xml; charset=utf-8",
         "atom": "application/atom+xml; charset=utf-8",
         "json": "application/feed+json; charset=utf-8"}


@pytest.mark.parametrize("path", FEED_PATHS)
def test_feed_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == TYPES[path.rsplit(".", 1)[1]]
    assert response.headers["Cache-Control"] == "public, max-age=120"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["ETag"].startswith('"')
    assert parsedate_to_datetime(response.headers["Last-Modified"]).year >= 2025


@pytest.mark.parametrize("path", [*FEED_PATHS, "/feeds.opml", "/", "/sport/"])
def test_conditional_get(client: FlaskClient, path: str) -> None:
    first = client.get(path)
    etag = first.headers["ETag"]
    by_etag = client.get(path, headers={"If-None-Match": etag})
    assert by_etag.status_code == 304
    assert by_etag.data == b""
    assert by_etag.headers["ETag"] == etag
    by_date = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert by_date.status_code == 304
    older = parsedate_to_datetime(first.headers["Last-Modified"]).timestamp() - 60
    stale = client.get(path, headers={"If-Modified-Since": format_datetime(
        parsedate_to_datetime(first.headers["Last-Modified"]).fromtimestamp(older), usegmt=False)})
    assert stale.status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    mismatch = client.get(path, headers={"If-None-Match": '"other"',
                                         "If-Modified-Since": first.headers["Last-Modified"]})
    assert mismatch.status_code == 200


def test_gzip_has_its_own_etag_and_round_trips(client: FlaskClient) -> None:
    plain = client.get("/feeds/all.rss")
    packed = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["ETag"] != plain.headers["ETag"]
    assert client.get("/feeds/all.rss", headers={
        "Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}).status_code == 304
    refused = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_head_matches_get(client: FlaskClient) -> None:
    for path in ["/feeds/all.atom", "/feeds.opml", "/", f"/articles/{SEED_ID}.html"]:
        get, head = client.get(path), client.head(path)
        assert head.status_code == 200
        assert head.data == b""
        assert head.headers["Content-Length"] == str(len(get.data))
        assert head.headers["ETag"] == get.headers["ETag"]


def test_validators_are_stable_across_apps(store_dir: Path, tmp_path: Path) -> None:
    one = make_app(store_dir, tmp_path / "c1").test_client().get("/feeds/all.rss")
    two = make_app(store_dir, tmp_path / "c2").test_client().get("/feeds/all.rss")
    assert one.data == two.data
    assert one.headers["ETag"] == two.headers["ETag"]
    assert one.headers["Last-Modified"] == two.headers["Last-Modified"]


@pytest.mark.parametrize("path", [
    "/feeds/nope.rss", "/feeds/all.xml", "/feeds/all", "/feeds/.rss", "/nope/",
    "/articles/nope.html", f"/articles/{SEED_ID}.txt", "/photos/nope.jpg",
    f"/photos/{SEED_ID}.png", "/feeds/../app.py", "/feeds/%2e%2e/app.py",
    "/photos/..%2f..%2fapp.py", "/static/../app.py", "/articles/..%2f000_f7808c3b0d4d12dc.html",
    "/feeds/all/archive/0.rss", "/feeds/all/archive/999.rss", "/feeds/all/archive/x.rss",
    "/" + "a" * 3000, "/nope", "/feeds/yandex/all.rss", "/feeds/dzen.atom",
    "/photos/_default.jpg", "/feeds/all/archive/99999999999.rss",
])
def test_unknown_and_hostile_paths_are_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"Traceback" not in response.data
    if response.mimetype == "text/html":  # people get a page, which never echoes the path
        assert "Страница не найдена" in response.text and "a" * 50 not in response.text
        assert len(response.data) < 8000
    else:
        assert len(response.data) < 200


@pytest.mark.parametrize("value", ["0", "501", "-1", "abc", "1e3", "５", "10 ", ""])
def test_bad_limit_is_400(client: FlaskClient, value: str) -> None:
    response = client.get(f"/feeds/all.rss?limit={value}")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert response.data.count(b"\n") == 1


def test_limit_changes_the_count(client: FlaskClient) -> None:
    assert len(feedparser.parse(client.get("/feeds/all.rss?limit=2").data).entries) == 2
    assert len(feedparser.parse(client.get("/feeds/all.rss?limit=500").data).entries) == 4


def test_rubric_without_slash_redirects(client: FlaskClient) -> None:
    response = client.get("/sport")
    assert response.status_code == 308
    assert response.headers["Location"] == f"{BASE}/sport/"


def test_other_methods_are_405(client: FlaskClient) -> None:
    for method in ("post", "put", "delete", "patch"):
        response = getattr(client, method)("/feeds/all.rss")
        assert response.status_code == 405
        assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("headers", [
    {"If-Modified-Since": "yesterday"}, {"If-None-Match": "garbage,,\"\""},
    {"Range": "bytes=oops"}, {"Range": "bytes=0-10"}, {"Accept-Encoding": ";;;q=x"},
    {"If-Modified-Since": "Mon, 99 Foo 2025 99:99:99 GMT"}, {"A-IM": "\x00"},
])
def test_garbage_headers_are_ignored(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get("/feeds/all.rss", headers=headers)
    assert response.status_code == 200
    assert feedparser.parse(response.data).bozo == 0


def test_untrusted_host_never_reaches_links(client: FlaskClient) -> None:
    response = client.get("/feeds/all.atom", headers={"Host": "evil.example"})
    assert b"evil.example" not in response.data
    assert BASE.encode() in response.data


def test_photo_serves_exactly_the_enclosure(client: FlaskClient) -> None:
    feed = feedparser.parse(client.get("/feeds/all.rss").data)
    for entry in feed.entries:
        enclosure = entry.enclosures[0]
        photo = client.get(enclosure.href.replace(BASE, ""))
        assert photo.status_code == 200
        assert len(photo.data) == int(enclosure.length)
        assert photo.mimetype == enclosure.type


def test_misnamed_photo_is_served_under_its_real_type(client: FlaskClient) -> None:
    # 001_sport.jpg holds PNG bytes: the URL and type follow the content.
    feed = feedparser.parse(client.get("/feeds/sport.rss").data)
    enclosure = feed.entries[0].enclosures[0]
    assert enclosure.type == "image/png"
    assert enclosure.href.endswith("/photos/001_sport.png")


@pytest.mark.parametrize("path,fmt", [("/feeds.opml", "rss"), ("/feeds-atom.opml", "atom"),
                                      ("/feeds-json.opml", "json")])
def test_opml_lists_each_rubric_once_in_one_format(client: FlaskClient, path: str,
                                                   fmt: str) -> None:
    response = client.get(path)
    assert response.headers["Content-Type"] == "text/x-opml; charset=utf-8"
    outlines = ET.fromstring(response.data).findall("./body/outline")
    assert [o.get("xmlUrl") for o in outlines] == [
        f"{BASE}/feeds/{slug}.{fmt}" for slug in ("culture", "nauka", "society", "sport")]
    assert all(o.get("type") == "rss" and not o.findall("outline") for o in outlines)
    assert {o.get("version") for o in outlines} == ({"RSS2"} if fmt == "rss" else {None})
    assert outlines[-1].get("htmlUrl") == f"{BASE}/sport/"
    # The rubrics hold every article once: "all news" would repeat each of them.
    assert f"{BASE}/feeds/all." not in response.data.decode()


def test_front_page_has_autodiscovery_and_rubrics(client: FlaskClient) -> None:
    html = client.get("/").data.decode()
    assert ('type="application/rss+xml" title="БЕЛТА — Все новости (RSS)"'
            f' href="{BASE}/feeds/all.rss"') in html
    assert f'href="{BASE}/feeds/all.atom"' in html and f'href="{BASE}/feeds/all.json"' in html
    for slug in ("society", "sport", "culture", "nauka"):
        assert f'{BASE}/{slug}/' in html
    rubric = client.get("/sport/").data.decode()
    assert f'href="{BASE}/feeds/sport.rss"' in rubric
    assert "&lt;b&gt;победило&lt;/b&gt;" in rubric


def test_article_page(client: FlaskClient) -> None:
    html = client.get(f"/articles/{SEED_ID}.html").data.decode()
    assert "Алейник: взаимодействие Беларуси и Казахстана" in html
    assert "Фото Сергея Шелега" in html
    assert "-0-" not in html and "Топ-новости" not in html
    sport = client.get("/articles/001_sport.html").data.decode()
    assert "<script>alert" not in sport and "&lt;script&gt;" in sport


def test_embargoed_article_is_hidden_until_its_time(store_dir: Path, tmp_path: Path) -> None:
    write_article(store_dir, "999_future", "Спорт", "1 января 2099, 10:00", "Из будущего")
    client = make_app(store_dir, tmp_path / "cache").test_client()
    assert "Из будущего" not in client.get("/feeds/all.rss").data.decode()
    assert client.get("/articles/999_future.html").status_code == 404


def test_new_edited_and_deleted_articles_show(app: Flask, client: FlaskClient,
                                              store_dir: Path) -> None:
    before = client.get("/feeds/all.atom")
    path = write_article(store_dir, "010_new", "Спорт", "4 марта 2025, 12:00", "Свежая новость")
    refresh(app)
    after = client.get("/feeds/all.atom", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and "Свежая новость" in after.data.decode()
    path.write_text(path.read_text(encoding="utf-8").replace("Свежая новость", "Правка"),
                    encoding="utf-8")
    refresh(app)
    assert "Правка" in client.get("/feeds/sport.json").data.decode()
    path.unlink()
    refresh(app)
    assert "Правка" not in client.get("/feeds/sport.json").data.decode()


def test_only_feeds_whose_content_changed_are_rendered_again(app: Flask,
                                                             store_dir: Path) -> None:
    publisher = app.extensions["feeds"].publisher
    before = {name: publisher.feed(feed_request(name), BASE, 2e9) for name in
              ("all", "society", "sport")}
    write_article(store_dir, "020_sport", "Спорт", "5 марта 2025, 12:00", "Еще спорт")
    refresh(app)
    after = {name: publisher.feed(feed_request(name), BASE, 2e9) for name in
             ("all", "society", "sport")}
    assert after["society"].body is before["society"].body  # untouched: not rendered again
    assert after["sport"].etag != before["sport"].etag
    assert after["all"].etag != before["all"].etag


def test_answers_whose_links_follow_the_host_are_private(tmp_path: Path, store_dir: Path) -> None:
    """Without FEEDS_BASE_URL links follow Host and scheme: no shared cache may keep them."""
    settings = Settings(content_dir=store_dir, cache_dir=tmp_path / "cache2")
    app = create_app({"SETTINGS": settings, "WATCH": False, "TESTING": True})
    client = app.test_client()
    for _ in range(2):  # Flask, then the fast lane
        answer = client.get("/feeds/all.rss", headers={"Host": "a.example"})
        assert answer.headers["Cache-Control"] == "private, max-age=120"
        assert b"http://a.example/" in answer.data
    assert client.get("/").headers["Cache-Control"].startswith("private")
