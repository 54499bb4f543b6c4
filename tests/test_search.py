"""Whole-archive search: Russian word matching, keeping in step with the store, bad input."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from flask import Flask

from feeds.parse import MINSK
from feeds.search import SearchBudget, SearchBusy, match_expression, parse_query, query_text
from tests.appkit import make_app, refresh
from tests.storekit import date_ago, date_line, write_article


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    write_article(root, "a1", "Общество", "1 марта 2016, 10:00", "Ёлку поставили на площади",
                  ["На главной площади в Минске поставили новогоднюю ёлку."], folder="2016")
    write_article(root, "a2", "Общество", "2 марта 2025, 10:00", "Елка в Гродно",
                  ["Праздничная елка засияла огнями."])
    write_article(root, "a3", "Экономика", "3 марта 2025, 10:00", "Беларусь и Китай",
                  ["Товарооборот Беларуси и Китая вырос.", "ВНП растет."])
    write_article(root, "a4", "Спорт", "4 марта 2025, 10:00", "Минское Динамо победило",
                  ["Матч в Минском районе собрал зрителей."])
    write_article(root, "a5", "Регионы", "5 марта 2025, 10:00", "Новости района",
                  ["Минский завод построил дом в соседнем районе."])
    return root


@pytest.fixture
def app(store: Path, tmp_path: Path) -> Flask:
    return make_app(store, tmp_path / "cache")


def titles(app: Flask, query: str, feed: str = "all.atom") -> list[str]:
    response = app.test_client().get(f"/feeds/{feed}?{query}")
    assert response.status_code == 200, response.data
    if feed.endswith(".json"):
        return [item["title"] for item in json.loads(response.data)["items"]]
    return [entry.title for entry in feedparser.parse(response.data).entries]


def test_yo_and_ye_are_one_letter(app: Flask) -> None:
    expected = ["Елка в Гродно", "Ёлку поставили на площади"]
    assert titles(app, "q=ёлка") == expected
    assert titles(app, "q=ЕЛКА") == expected
    assert titles(app, "q=Ёлку") == expected


def test_word_forms(app: Flask) -> None:
    # Every dateline says Минск; the word form in the title or text does the rest.
    assert titles(app, "q=минского") == titles(app, "q=Минск")
    assert len(titles(app, "q=Минск")) == 5
    assert titles(app, "q=Беларусь") == ["Беларусь и Китай"]
    assert titles(app, "q=беларуси") == ["Беларусь и Китай"]
    assert titles(app, "q=китаем") == ["Беларусь и Китай"]
    assert titles(app, "q=районы") == ["Новости района", "Минское Динамо победило"]
    # Short words and abbreviations match only themselves.
    assert titles(app, "q=ВНП") == ["Беларусь и Китай"]
    assert titles(app, "q=вн") == []


def test_quoted_phrase_keeps_order_and_form(app: Flask) -> None:
    assert titles(app, 'q="Минском районе"') == ["Минское Динамо победило"]
    assert titles(app, 'q="районе Минском"') == []
    assert titles(app, "q=минский+район") == ["Новости района", "Минское Динамо победило"]


def test_exclusion(app: Flask) -> None:
    assert titles(app, "q=район+-динамо") == ["Новости района"]
    assert titles(app, "q=район&exclude=динамо") == ["Новости района"]
    assert titles(app, 'q=минск+-"минском районе"+-ёлка+-китай') == ["Новости района"]
    assert titles(app, "exclude=минск") == []
    assert titles(app, "exclude=елка+беларусь&limit=2") == ["Новости района",
                                                             "Минское Динамо победило"]


def test_whole_archive_per_rubric_and_flavour(app: Flask, store: Path) -> None:
    assert titles(app, "q=площади") == ["Ёлку поставили на площади"]  # from 2016
    assert titles(app, "q=минск", "society.rss") == ["Елка в Гродно",
                                                     "Ёлку поставили на площади"]
    assert titles(app, "q=минск&limit=1", "society.json") == ["Елка в Гродно"]
    write_article(store, "fresh", "Спорт", date_ago(0.02), "Свежий матч в Гродно")
    refresh(app)
    assert titles(app, "q=гродно", "yandex.rss") == ["Свежий матч в Гродно"]  # eight days only
    assert titles(app, "q=гродно") == ["Свежий матч в Гродно", "Елка в Гродно"]


def test_edited_article_leaves_the_search(app: Flask, store: Path) -> None:
    assert titles(app, "q=Китай") == ["Беларусь и Китай"]
    path = write_article(store, "a3", "Экономика", "3 марта 2025, 10:00", "Беларусь и Индия",
                         ["Товарооборот Беларуси и Индии вырос."])
    os.utime(path, (time.time() + 5, time.time() + 5))
    refresh(app)
    assert titles(app, "q=Китай") == []
    assert titles(app, "q=индия") == ["Беларусь и Индия"]


def test_deleted_article_leaves_the_search(app: Flask, store: Path, tmp_path: Path) -> None:
    assert titles(app, "q=динамо") == ["Минское Динамо победило"]
    (store / "a4.txt").unlink()
    refresh(app)
    assert titles(app, "q=динамо") == []
    # Nor does a restart bring it back: the index file forgot it too.
    assert titles(make_app(store, tmp_path / "cache"), "q=динамо") == []


def test_embargoed_article_is_not_found_before_its_time(app: Flask, store: Path) -> None:
    later = datetime.now(MINSK) + timedelta(hours=2)
    write_article(store, "soon", "Общество", date_line(later.year, later.month, later.day,
                                                       later.hour, later.minute),
                  "Указ о тайном конкурсе", ["Тайный конкурс объявят позже."])
    refresh(app)
    assert titles(app, "q=тайный") == []
    assert titles(app, "q=тайный", "society.rss") == []
    assert "конкурс" not in app.test_client().get("/search?q=тайный").get_data(as_text=True)
    publisher = app.extensions["feeds"].publisher
    snapshot = app.extensions["feeds"].store.snapshot
    page = publisher.searcher.find(snapshot, parse_query("тайный"), None,
                                   later.timestamp() + 60, 10)
    assert [entry.id for entry in page.entries] == ["soon"]  # the index has it, waiting


def test_search_survives_a_restart(store: Path, tmp_path: Path) -> None:
    make_app(store, tmp_path / "cache")
    again = make_app(store, tmp_path / "cache")
    assert titles(again, "q=китай") == ["Беларусь и Китай"]


@pytest.mark.parametrize("query", [
    '"', '*', 'минск*', 'NEAR(минск динамо)', 'title:минск', 'body : динамо', '(', ')',
    'AND', 'минск OR', 'NOT минск', '{title}:елка', '^минск', '"unclosed минск',
    "'; DROP TABLE articles; --", 'минск" OR "китай', '-', '--минск', '+', 'минск + динамо',
    '\x00минск', '🙂 минск', 'rowid', 'tags:all', 'all', '"" ""', '%', '_',
])
def test_hostile_queries_are_plain_words(app: Flask, query: str) -> None:
    client = app.test_client()
    for path in ("/feeds/all.rss", "/feeds/sport.atom", "/feeds/dzen.rss", "/search"):
        response = client.get(path, query_string={"q": query})
        assert response.status_code in (200, 400), (query, path)
        text = response.get_data(as_text=True).lower()
        for leak in ("sqlite", "fts5", "syntax error", "traceback", "no such column"):
            assert leak not in text, (query, path)
        if response.status_code == 400:
            assert len(text) < 2000 or path == "/search"


@pytest.mark.parametrize("query", ['"', "*", "( )", "-", '""', "+ - *", "x" * 201,
                                   " ".join(f"слово{n}" for n in range(13))])
def test_queries_without_words_or_too_long_are_400(app: Flask, query: str) -> None:
    response = app.test_client().get("/feeds/all.rss", query_string={"q": query})
    assert response.status_code == 400
    assert response.mimetype == "text/plain"


def test_parsed_queries_are_canonical() -> None:
    assert parse_query("Минск  Китай") == parse_query("китай МИНСК")
    query = parse_query('минск "Минский район" -динамо NEAR(a*b):', "ёлка")
    assert query_text(query) == '"near a b" минск "минский район" -динамо -елка'
    assert match_expression(query) == (
        '(({title body} : ("near a b" AND "минск"* AND "минский район")) AND (tags : "all"))'
        ' NOT ({title body} : ("динам"* OR "елк"*))')


def test_search_page_lists_results_with_marked_snippets(app: Flask, store: Path) -> None:
    write_article(store, "x1", "Общество", "6 марта 2025, 10:00", "Минск <script>x</script>",
                  ["Жители Минска & <b>гости</b> пришли на праздник."])
    refresh(app)
    response = app.test_client().get("/search?q=минск+-динамо")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>x" not in html and "&lt;script&gt;" in html
    assert "<mark>Минска</mark> &amp; &lt;b&gt;гости" in html
    assert '<a href="http://feeds.test/society/">Общество</a>' in html
    assert "06.03.2025 10:00" in html
    assert "Динамо" not in html
    feed = 'href="http://feeds.test/feeds/all.atom?q=%D0%BC%D0%B8%D0%BD%D1%81%D0%BA+-%D0%B4'
    assert '<link rel="alternate" type="application/atom+xml" title="БЕЛТА' in html
    assert feed in html
    assert 'name="robots" content="noindex' in html
    atom = app.test_client().get("/feeds/all.atom?q=минск+-динамо")
    assert feedparser.parse(atom.data).entries[0].title == "Минск <script>x</script>"


def test_search_page_pages_and_rubrics(app: Flask, store: Path) -> None:
    for n in range(25):
        write_article(store, f"p{n:02d}", "Спорт", f"{n + 1} мая 2024, 12:00", f"Турнир {n}",
                      ["Шахматный турнир продолжается."])
    refresh(app)
    client = app.test_client()
    first = client.get("/search?q=турнир").get_data(as_text=True)
    assert first.count('<span class="snippet">') == 20
    assert "Турнир</mark> 24<" in first and 'rel="next"' in first
    second = client.get("/search?q=турнир&page=2").get_data(as_text=True)
    assert second.count('<span class="snippet">') == 5 and "Турнир</mark> 0<" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "Ничего не найдено" in client.get("/search?q=турнир&rubric=society").get_data(
        as_text=True)
    sport = client.get("/search?q=турнир&rubric=sport").get_data(as_text=True)
    assert "http://feeds.test/feeds/sport.rss?q=" in sport


@pytest.mark.parametrize("query", ["q=", "q=+", "q=-динамо", "q=%22", "q=" + "x" * 201,
                                   "q=a&page=0", "q=a&page=51", "q=a&rubric=nope"])
def test_search_page_bad_searches_are_400_with_the_form(app: Flask, query: str) -> None:
    response = app.test_client().get(f"/search?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert '<form class="search"' in html and "от одного до 12 слов" in html


def test_search_form_on_front_and_rubric_pages(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/search").status_code == 200
    front = client.get("/").get_data(as_text=True)
    assert 'action="http://feeds.test/search"' in front and 'name="rubric"' not in front
    rubric = client.get("/sport/").get_data(as_text=True)
    assert '<input type="hidden" name="rubric" value="sport">' in rubric


def test_search_budget_is_shared_through_its_file(tmp_path: Path) -> None:
    one = SearchBudget(tmp_path / "budget", share=0.5, burst=1.0)
    two = SearchBudget(tmp_path / "budget", share=0.5, burst=1.0)  # another worker
    one.admit()
    two.charge(3.0)
    with pytest.raises(SearchBusy):
        one.admit()
    time.sleep(0.05)
    with pytest.raises(SearchBusy):
        two.admit()  # refilled 0.025 s of 2 s owed


def test_spent_budget_is_429_for_searches_only(app: Flask) -> None:
    app.extensions["search_budget"].charge(1000.0)
    client = app.test_client()
    for url in ("/feeds/all.rss?q=минск", "/search?q=минск", "/feeds/all.rss?exclude=елка"):
        response = client.get(url)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "2"
    assert client.get("/feeds/all.rss").status_code == 200
    assert client.get("/feeds/all.rss?limit=3").status_code == 200
