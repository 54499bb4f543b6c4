"""Aggregator flavours, reader niceties, filters and RFC 3229 delta feeds."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feeds.parse import MINSK
from tests.appkit import BASE, make_app, refresh
from tests.storekit import date_ago, image_bytes, write_article

YANDEX = "http://news.yandex.ru"
MEDIA = "http://search.yahoo.com/mrss/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"


days_ago = date_ago


@pytest.fixture
def recent_app(tmp_path: Path) -> Flask:
    root = tmp_path / "store"
    write_article(root, "r1", "Спорт", days_ago(0.1), "Хоккеисты выиграли в Минске",
                  ["Команда победила.", "Следующий матч в Гродно."],
                  photo=image_bytes("JPEG", (800, 500)))
    write_article(root, "r2", "Экономика", days_ago(1), "Экспорт вырос",
                  ["Экспорт молочной продукции вырос на пять процентов."])
    write_article(root, "r3", "Экономика", days_ago(5), "Урожай собран", ["Зерно убрано."])
    write_article(root, "r4", "Экономика", days_ago(20), "Старая новость о ценах",
                  ["Цены на ЁЛКИ не изменились."])
    return make_app(root, tmp_path / "cache")


def test_yandex_flavour(recent_app: Flask) -> None:
    response = recent_app.test_client().get("/feeds/yandex.rss")
    assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    channel = etree.fromstring(response.data).find("channel")
    logos = channel.findall(f"{{{YANDEX}}}logo")
    assert [logo.get("type") for logo in logos] == [None, "square"]
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == [
        "Хоккеисты выиграли в Минске", "Экспорт вырос", "Урожай собран"]  # eight days back
    first = items[0]
    assert first.findtext(f"{{{YANDEX}}}pdalink") == first.findtext("link")
    assert len(first.findall("category")) == 1
    full_text = first.findtext(f"{{{YANDEX}}}full-text")
    assert full_text.startswith("Команда победила.")  # no dateline: source and date not repeated
    assert "<" not in full_text and "БЕЛТА" not in full_text
    assert first.find("enclosure").get("type") == "image/jpeg"
    assert not feedparser.parse(response.data).bozo
    assert len(response.data) < 10_000_000


def test_dzen_flavour(recent_app: Flask) -> None:
    client = recent_app.test_client()
    channel = etree.fromstring(client.get("/feeds/dzen.rss").data).find("channel")
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ["Хоккеисты выиграли в Минске",
                                                    "Экспорт вырос"]  # three days back
    first = items[0]
    html = first.findtext(f"{{{CONTENT}}}encoded")
    assert html.startswith('<figure><img src="') and "<figcaption>" in html
    assert first.findtext(f"{{{MEDIA}}}rating") == "nonadult"
    assert first.find(f"{{{MEDIA}}}rating").get("scheme") == "urn:simple"
    terms = [c.text for c in first.findall("category")]
    assert "Спорт" in terms and "format-article" in terms
    assert first.find("enclosure").get("length").isdigit()
    assert "?" not in first.findtext("link") and "?" not in first.find("enclosure").get("url")
    economics = etree.fromstring(client.get("/feeds/dzen/economics.rss").data)
    assert [i.findtext("title") for i in economics.iter("item")] == ["Экспорт вырос"]
    filtered = etree.fromstring(client.get("/feeds/dzen.rss?q=экспорт").data)
    assert [i.findtext("title") for i in filtered.iter("item")] == ["Экспорт вырос"]
    assert client.get("/feeds/dzen/nope.rss").status_code == 404
    assert client.get("/feeds/dzen/economics.atom").status_code == 404


@pytest.mark.parametrize("path", ["/feeds/dzen.rss?q=nothingmatches",
                                  "/feeds/yandex/sport.rss?q=nothingmatches",
                                  "/feeds/all.rss?q=nothingmatches"])
def test_an_empty_feed_makes_up_no_dates(recent_app: Flask, path: str) -> None:
    channel = etree.fromstring(recent_app.test_client().get(path).data).find("channel")
    assert channel.findall("item") == []
    assert channel.find("lastBuildDate") is None and channel.find("pubDate") is None
    assert b"2000" not in etree.tostring(channel)


def test_photo_sits_once_in_the_html_for_bots(recent_app: Flask) -> None:
    feed = feedparser.parse(recent_app.test_client().get("/feeds/all.rss").data)
    hockey, export = feed.entries[0], feed.entries[1]
    html = hockey.content[0].value
    assert html.count("<img") == 1
    assert hockey.enclosures[0].href in html
    assert "<img" not in export.content[0].value  # the default image is not news
    raw = recent_app.test_client().get("/feeds/all.rss").data
    assert b"<webfeeds:accentColor>0F6B3A</webfeeds:accentColor>" in raw
    assert b"<webfeeds:icon>" in raw and b"<webfeeds:logo>" in raw


@pytest.mark.parametrize("query,titles", [
    ("q=хоккеисты", ["Хоккеисты выиграли в Минске"]),
    ("q=ЭКСПОРТ+молочной", ["Экспорт вырос"]),
    ("q=елки", ["Старая новость о ценах"]),
    ("exclude=экспорт", ["Хоккеисты выиграли в Минске", "Урожай собран",
                         "Старая новость о ценах"]),
    ("q=вырос&exclude=молочной", []),
    ("since=" + (datetime.now(MINSK) - timedelta(days=2)).date().isoformat(),
     ["Хоккеисты выиграли в Минске", "Экспорт вырос"]),
    ("exclude=хоккеисты&limit=1", ["Экспорт вырос"]),
    ("q=минск", ["Хоккеисты выиграли в Минске", "Экспорт вырос", "Урожай собран",
                 "Старая новость о ценах"]),  # every dateline says Минск
])
def test_filters(recent_app: Flask, query: str, titles: list[str]) -> None:
    client = recent_app.test_client()
    for fmt in ("rss", "atom"):
        response = client.get(f"/feeds/all.{fmt}?{query}")
        assert response.status_code == 200
        assert [e.title for e in feedparser.parse(response.data).entries] == titles
        again = client.get(f"/feeds/all.{fmt}?{query}",
                           headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304


@pytest.mark.parametrize("query", ["since=yesterday", "since=2025-13-01", "q=" + "x" * 201])
def test_bad_filters_are_400(recent_app: Flask, query: str) -> None:
    response = recent_app.test_client().get(f"/feeds/all.rss?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"


def test_delta_feed_sends_only_what_changed(recent_app: Flask, tmp_path: Path) -> None:
    client = recent_app.test_client()
    first = client.get("/feeds/all.atom")
    write_article(tmp_path / "store", "r5", "Спорт", days_ago(0.05), "Совсем свежая новость")
    refresh(recent_app)
    delta = client.get("/feeds/all.atom", headers={
        "A-IM": "feed", "If-None-Match": first.headers["ETag"]})
    assert delta.status_code == 226
    assert delta.headers["IM"] == "feed"
    assert "A-IM" in delta.headers["Vary"] and "no-store" in delta.headers["Cache-Control"]
    assert [e.title for e in feedparser.parse(delta.data).entries] == ["Совсем свежая новость"]
    full = client.get("/feeds/all.atom")
    assert delta.headers["ETag"] == full.headers["ETag"]
    current = client.get("/feeds/all.atom", headers={
        "A-IM": "feed", "If-None-Match": full.headers["ETag"]})
    assert current.status_code == 304
    unknown = client.get("/feeds/all.atom", headers={"A-IM": "feed", "If-None-Match": '"old"'})
    assert unknown.status_code == 200 and len(feedparser.parse(unknown.data).entries) == 5
    packed = client.get("/feeds/all.atom", headers={
        "A-IM": "feed", "If-None-Match": first.headers["ETag"] + ', "x"',
        "Accept-Encoding": "gzip"})
    assert packed.status_code == 226
    assert "Совсем свежая" in gzip.decompress(packed.data).decode()


def test_every_feed_stays_under_google_news_size(client: FlaskClient) -> None:
    response = client.get("/feeds/all.rss?limit=500")
    assert len(response.data) < 2_000_000
    assert BASE in response.data.decode()


def test_spellings_of_one_word_are_one_request(recent_app: Flask) -> None:
    """ё and е, upper and lower case: the same words, so one answer and one cache entry."""
    client = recent_app.test_client()
    publisher = recent_app.extensions["feeds"].publisher
    first = client.get("/feeds/all.rss?q=ёлки")
    cached = len(publisher._cache)
    for query in ("q=елки", "q=ЁЛКИ", "q=Елки+ёлки"):
        response = client.get(f"/feeds/all.rss?{query}")
        assert response.data == first.data
        assert len(publisher._cache) == cached
    assert [e.title for e in feedparser.parse(first.data).entries] == ["Старая новость о ценах"]
