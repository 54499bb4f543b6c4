"""Rendering: golden files for the tiny store, plus what each format must say."""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path

import feedparser
import pytest
from flask.testing import FlaskClient
from lxml import etree

from feeds.model import Article, Entry, FileStat, Photo
from feeds.parse import MINSK
from feeds.render import FeedMeta, Item, render_atom, render_json, render_rss
from tests.appkit import BASE
from tests.storekit import SEED_ID

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = Path(__file__).parent / "schema" / "atom.rng"
NS = {"atom": "http://www.w3.org/2005/Atom", "media": "http://search.yahoo.com/mrss/",
      "content": "http://purl.org/rss/1.0/modules/content/",
      "fh": "http://purl.org/syndication/history/1.0"}
GOLDEN_PATHS = ["/feeds/all.rss", "/feeds/all.atom", "/feeds/all.json", "/feeds/sport.rss",
                "/feeds/culture.atom", "/feeds.opml", "/feeds/all/archive/1.atom"]


def golden_name(path: str) -> str:
    return path.strip("/").replace("/", "_")


@pytest.mark.parametrize("path", GOLDEN_PATHS)
def test_golden(client: FlaskClient, path: str, update_golden: bool) -> None:
    body = client.get(path).data
    golden = GOLDEN / golden_name(path)
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_bytes(body)
    assert body == golden.read_bytes(), f"{path} differs from {golden}; `make golden` rewrites"


def test_rss_says_what_matters(client: FlaskClient) -> None:
    rss = etree.fromstring(client.get("/feeds/all.rss").data)
    channel = rss.find("channel")
    assert channel.findtext("title") == "БЕЛТА — Все новости"
    assert channel.findtext("language") == "ru"
    assert channel.findtext("lastBuildDate") == "Sun, 02 Mar 2025 09:15:00 +0300"
    self_link = channel.find("atom:link[@rel='self']", NS)
    assert self_link.get("href") == f"{BASE}/feeds/all.rss"
    items = channel.findall("item")
    assert [i.findtext("guid") for i in items] == [
        "tag:belta.by,2025:003_science", "tag:belta.by,2025:001_sport",
        "tag:belta.by,2025:000_f7808c3b0d4d12dc", "tag:belta.by,2025:002_culture"]
    seed = items[2]
    assert seed.find("guid").get("isPermaLink") == "false"
    assert seed.findtext("pubDate") == "Thu, 27 Feb 2025 14:29:00 +0300"
    assert seed.findtext("category") == "Общество"
    enclosure = seed.find("enclosure")
    photo = Path(__file__).parent / "fixtures" / "tiny" / f"{SEED_ID}.jpg"
    assert enclosure.get("length") == str(photo.stat().st_size)
    assert enclosure.get("type") == "image/jpeg"
    media = seed.find("media:content", NS)
    assert media.get("medium") == "image" and media.get("width") == "80"
    assert media.findtext("media:credit", namespaces=NS) == "Фото Сергея Шелега"
    content = seed.findtext("content:encoded", namespaces=NS)
    assert content.count("<p>") == 5 and "-0-" not in content and "Топ-новости" not in content
    culture = items[3]
    assert culture.findtext("pubDate") == "Wed, 15 Jul 2009 12:00:00 +0300"
    # No photo of its own: the store's default image is the enclosure.
    assert culture.find("enclosure").get("url") == f"{BASE}/photos/_default.png"


def test_atom_enclosures_keep_rel_type_and_length(client: FlaskClient) -> None:
    feed = etree.fromstring(client.get("/feeds/all.atom").data)
    for entry in feed.findall("atom:entry", NS):
        enclosures = entry.findall("atom:link[@rel='enclosure']", NS)
        assert len(enclosures) == 1
        assert enclosures[0].get("type").startswith("image/")
        assert int(enclosures[0].get("length")) > 0
        alternates = [link for link in entry.findall("atom:link", NS)
                      if link.get("rel") in (None, "alternate")]
        assert len(alternates) == 1
    seed = feed.findall("atom:entry", NS)[2]
    assert seed.findtext("atom:published", namespaces=NS) == "2025-02-27T14:29:00+03:00"
    assert seed.find("atom:content", NS).get("type") == "html"


@pytest.mark.parametrize("path", ["/feeds/all.atom", "/feeds/sport.atom",
                                  "/feeds/all/archive/1.atom"])
def test_atom_validates_against_rfc4287_schema(client: FlaskClient, path: str) -> None:
    schema = etree.RelaxNG(etree.parse(str(SCHEMA)))
    document = etree.fromstring(client.get(path).data)
    assert schema.validate(document), schema.error_log


def test_json_feed(client: FlaskClient) -> None:
    feed = json.loads(client.get("/feeds/all.json").data)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == f"{BASE}/feeds/all.json"
    seed = feed["items"][2]
    assert seed["id"] == "tag:belta.by,2025:000_f7808c3b0d4d12dc"
    assert seed["date_published"] == "2025-02-27T14:29:00+03:00"
    assert seed["tags"] == ["Общество"]
    attachment = seed["attachments"][0]
    assert attachment["mime_type"] == "image/jpeg"
    assert attachment["url"] == seed["image"]
    assert attachment["size_in_bytes"] > 0


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feedparser_reads_every_format(client: FlaskClient, fmt: str) -> None:
    feed = feedparser.parse(client.get(f"/feeds/all.{fmt}").data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "БЕЛТА — Все новости"
    # RSS titles are HTML to readers (feedparser says text/html): markup shows as text.
    titles = [html.unescape(entry.title) if fmt == "rss" else entry.title
              for entry in feed.entries]
    assert "Минское «Динамо» & <b>победило</b>" in titles
    if fmt == "rss":
        assert "<b>" not in "".join(entry.title for entry in feed.entries)
    sport = feed.entries[titles.index("Минское «Динамо» & <b>победило</b>")]
    assert sport.published_parsed[:5] == (2025, 3, 1, 15, 45)  # UTC
    assert "<script>" not in sport.content[0].value
    assert "&lt;script&gt;" in sport.content[0].value


def _item(article: Article) -> Item:
    photo = Photo("/x.jpg", 1234, "image/jpeg", 800, 533)
    entry = Entry(article.id, "x.txt", article.rubric, "society",
                  article.published.timestamp(), FileStat(10, 0), photo)
    return Item(article, entry, "https://example.org/a", "tag:x,2025:a", photo,
                "https://example.org/a.jpg", True)


def _meta(updated: datetime) -> FeedMeta:
    return FeedMeta("tag:x,2025:f", "T", "D", "https://example.org/", "https://example.org/f",
                    updated, "https://example.org/i.png", "https://example.org/l.png")


def test_renderers_are_pure_and_deterministic() -> None:
    published = datetime(2025, 2, 27, 14, 29, tzinfo=MINSK)
    article = Article("a", "Общество", published, "Заголовок ]]> & <x>", ("Абзац.",))
    items = [_item(article)]
    for render in (render_rss, render_atom, render_json):
        assert render(_meta(published), items) == render(_meta(published), items)
    for render in (render_rss, render_atom):
        document = etree.fromstring(render(_meta(published), items))
        entry_title = ("string(//*[local-name()='item' or local-name()='entry']"
                       "/*[local-name()='title'])")
        shown = document.xpath(entry_title)
        assert (html.unescape(shown) if render is render_rss else shown) == article.title
    assert json.loads(render_json(_meta(published), items))["items"][0]["title"] == article.title


def test_pre_1924_offsets_with_seconds_fall_back_to_utc() -> None:
    published = datetime(1879, 5, 1, 12, 0, tzinfo=MINSK)  # local mean time, +01:50:16
    article = Article("old", "Общество", published, "Старая новость", ("Текст.",))
    rss = render_rss(_meta(published), [_item(article)]).decode()
    assert "+0000" in rss or "GMT" in rss
    assert feedparser.parse(rss).bozo == 0
