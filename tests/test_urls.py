"""The URL module: every path shape, and that the routes answer what it builds."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from feeds import urls
from feeds.model import Entry, FileStat
from feeds.parse import MINSK
from tests.appkit import BASE


def test_path_shapes() -> None:
    assert urls.feed_path("all", "rss") == "/feeds/all.rss"
    assert urls.archive_path("sport", 3, "json") == "/feeds/sport/archive/3.json"
    assert urls.flavour_path("yandex", "all") == "/feeds/yandex.rss"
    assert urls.flavour_path("dzen", "sport") == "/feeds/dzen/sport.rss"
    assert urls.page_path("all") == "/"
    assert urls.page_path("sport") == "/sport/"
    assert urls.article_path("001 sport/ё") == "/articles/001%20sport/%D1%91.html"
    assert urls.photo_path("_default", "png") == "/photos/_default.png"
    assert urls.static_path("icon.png") == "/static/icon.png"


@pytest.mark.parametrize(("filename", "parts"), [
    ("all.rss", ("all", "rss")), ("a.b.json", ("a.b", "json")), ("1.", ("1", "")),
    ("rss", None), (".rss", None), ("", None),
])
def test_split_filename(filename: str, parts: tuple[str, str] | None) -> None:
    assert urls.split_filename(filename) == parts


def test_every_feed_of_a_rubric_formats_then_flavours() -> None:
    u = urls.Urls("https://x.test/")
    assert u.feeds_of("all") == [
        "https://x.test/feeds/all.rss", "https://x.test/feeds/all.atom",
        "https://x.test/feeds/all.json", "https://x.test/feeds/yandex.rss",
        "https://x.test/feeds/dzen.rss"]
    assert u.feeds_of("sport")[-1] == "https://x.test/feeds/dzen/sport.rss"


def test_article_links_follow_the_template_when_set() -> None:
    entry = Entry(id="001 x", path="001 x.txt", rubric="Спорт", slug="sport",
                  timestamp=datetime(2025, 3, 1, tzinfo=MINSK).timestamp(),
                  stat=FileStat(1, 0))
    assert urls.Urls("https://x.test").article(entry) == "https://x.test/articles/001%20x.html"
    templated = urls.Urls("https://x.test", "https://agency.test/{slug}/view/{id}/")
    assert templated.article(entry) == "https://agency.test/sport/view/001%20x/"
    assert templated.local_article(entry.id) == "https://x.test/articles/001%20x.html"


def test_every_site_path_is_answered(app: Flask, client: FlaskClient) -> None:
    """The export's list and the routes agree: each path the module builds is a 200."""
    state = app.extensions["feeds"]
    paths = urls.site_paths(state.store.snapshot, 2e9, state.settings.archive_page_size,
                            ["icon.png"])
    assert "/feeds/yandex.rss" in paths and "/feeds/dzen/sport.rss" in paths
    assert "/feeds/all/archive/1.atom" in paths and "/feeds-json.opml" in paths
    assert len(paths) == len(set(paths))
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert urls.Urls(BASE).opml("rss") == f"{BASE}/feeds.opml"
    assert urls.Urls(BASE).opml("atom") == f"{BASE}/feeds-atom.opml"
