"""A stem searched as the words it stands for: the index's word table, and the same answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask import Flask

from feeds import search
from feeds.index import ArticleIndex, ArticleRow
from tests.appkit import make_app, refresh
from tests.storekit import write_article

# Text a tokenizer could cut differently: ё, a stress mark, a soft hyphen, Belarusian
# letters, digits, underscores, Latin, CJK, superscripts, apostrophes, emoji.
ODD_TEXT = (
    "Ёлка и ёжик в Ми\u0301нске; пере\u00adвозка, Мінск, Брэст і Гомель, дзяўчына"
    " COVID-19 covid_19 9,2% 2025-м году; ＡＢＣ全角 北京市 x² H₂O км² Д'Артаньян"
    " «Минск-Арена» naïve café ŒUVRE straße İstanbul \U0001F600смайл ТАСС/ВНП"
)


def vocabulary(db: sqlite3.Connection) -> set[str]:
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.v USING fts5vocab(main, search, col)")
    return {term for (term,) in db.execute(
        "SELECT term FROM temp.v WHERE col != 'tags' AND length(term) >= 3")}


def words(db: sqlite3.Connection) -> set[str]:
    return {term for (term,) in db.execute("SELECT term FROM search_terms")}


def save(index: ArticleIndex, path: str, title: str, body: str) -> None:
    row = ArticleRow(path, 1, 1, path[:-4], "Общество", 1.7e9, title, None, None, None)
    index.save_articles([row], {path: search.document(title, [body], "Общество")})


def test_word_table_holds_the_words_fts5_indexed(tmp_path: Path) -> None:
    index = ArticleIndex(tmp_path / "index.sqlite3")
    save(index, "a.txt", "Минск и Брест", ODD_TEXT)
    save(index, "b.txt", ODD_TEXT.upper(), "Второй текст: Минского района")
    assert words(index.db) == vocabulary(index.db)
    assert {"минск", "минского", "мінск", "дзяўчына", "елка"} <= words(index.db)
    stem = search.parse_query("Минском").include[0]
    assert search._forms(index.db, stem) == '("минск" OR "минского")'


def test_an_index_made_before_the_word_table_gets_it_from_fts5(tmp_path: Path) -> None:
    index = ArticleIndex(tmp_path / "index.sqlite3")
    save(index, "a.txt", "Минск и Брест", ODD_TEXT)
    index.db.execute("DROP TABLE search_terms")
    index.close()
    reopened = ArticleIndex(tmp_path / "index.sqlite3")
    assert words(reopened.db) == vocabulary(reopened.db) != set()


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    root = tmp_path / "store"
    texts = [
        ("Минск принимает гостей", ["В Минске открылась выставка минского завода."]),
        ("Беларусь и Китай", ["Товарооборот Беларуси и Китая вырос на 9,2%."]),
        ("Работа в районе", ["Работы по ремонту в районах. Работник года."]),
        ("Ёлка на площади", ["Праздничную ёлку поставили работники Минскэнерго."]),
        ("Без совпадений", ["Другие новости дня, не о Минске и не о работе."]),
    ]
    for n, (title, paragraphs) in enumerate(texts, 1):
        write_article(root, f"w{n}", "Общество", f"{n} марта 2025, 10:00", title, paragraphs)
    return make_app(root, tmp_path / "cache")


QUERIES = ["минск", "минского", "работа", "работники -ёлка", "беларусь китаем",
           "елка работ", "район -минск", "минскэнерго", "товарооборот", "работ минск -новости"]


def found(app: Flask, query: str) -> list[str]:
    response = app.test_client().get("/feeds/all.json", query_string={"q": query})
    assert response.status_code == 200
    return [item["id"] for item in response.get_json()["items"]]


def test_words_and_prefixes_find_the_same(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    refresh(app)
    as_words = {query: found(app, query) for query in QUERIES}
    assert len(as_words["работа"]) == 3 and len(as_words["минскэнерго"]) == 1
    app.extensions["feeds"].publisher._selections.clear()
    monkeypatch.setattr(search, "_MAX_FORMS", 0)  # every stem stays an FTS5 prefix
    assert {query: found(app, query) for query in QUERIES} == as_words


def test_a_word_new_to_the_index_is_found(app: Flask, tmp_path: Path) -> None:
    refresh(app)
    assert found(app, "минчанам") == []
    write_article(tmp_path / "store", "w9", "Общество", "9 марта 2025, 10:00",
                  "Минчанам рассказали", ["Новость для минчан."])
    refresh(app)
    assert len(found(app, "минчанам")) == 1
    assert len(found(app, "минчане")) == 1  # минчан* : the word from the text
