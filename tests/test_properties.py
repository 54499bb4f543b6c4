"""Property tests: whatever text an article holds, every feed stays well-formed."""

from __future__ import annotations

import json
from datetime import datetime

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feeds.flavours import render_dzen, render_yandex
from feeds.model import Article, Entry, FileStat, Photo
from feeds.parse import MINSK, ParseError, parse_article
from feeds.render import FeedMeta, Item, render_atom, render_json, render_rss
from tests.storekit import article_text

text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=80)
line = text.map(lambda s: s.replace("\n", " ").replace("\r", " "))


def item_for(article: Article) -> Item:
    photo = Photo("/p.jpg", 10, "image/jpeg", 1, 1)
    entry = Entry(article.id, "p.txt", article.rubric, "x", article.published.timestamp(),
                  FileStat(1, 0), photo)
    return Item(article, entry, "https://e.org/a", "tag:e.org,2025:a", photo,
                "https://e.org/p.jpg", True)


META = FeedMeta("tag:e.org,2025:f", "Лента", "Описание", "https://e.org/", "https://e.org/f",
                datetime(2025, 3, 1, 12, 0, tzinfo=MINSK), "https://e.org/i.png",
                "https://e.org/l.png")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rubric=line, title=line, paragraphs=st.lists(line, min_size=1, max_size=4),
       credit=st.one_of(st.none(), line.map(lambda s: "Фото " + s)))
def test_any_parsed_article_renders_to_valid_feeds(rubric: str, title: str,
                                                   paragraphs: list[str],
                                                   credit: str | None) -> None:
    source = article_text(rubric, "3 марта 2025, 10:00", title, paragraphs, credit)
    try:
        article = parse_article(source, "a1")
    except ParseError:
        return  # rejected input is the store's business, not the renderer's
    items = [item_for(article)]
    for render in (render_rss, render_atom):
        body = render(META, items)
        etree.fromstring(body)  # well-formed, or this raises
        parsed = feedparser.parse(body)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert len(parsed.entries) == 1
    for flavour in (render_yandex, render_dzen):
        body = flavour(META, items, "https://e.org/w.png")
        assert not feedparser.parse(body).bozo
    feed = json.loads(render_json(META, items))
    assert feed["items"][0]["title"] == article.title
