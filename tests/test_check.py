"""Bad stores: every bad file is named by `check`, every good article still published."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from flask.testing import FlaskClient

from tests.appkit import make_app
from tests.storekit import SEED_TEXT, article_text, image_bytes, write, write_article

CHROME = "Все новости\nОбщество\n"


def bad_store(root: Path) -> Path:
    """A store with one file of every kind of trouble, and three good articles."""
    write_article(root, "good1", title="Хорошая новость", published="1 марта 2025, 10:00")
    write(root, "seed.txt", SEED_TEXT)
    write_article(root, "good2", "Спорт", "2 марта 2025, 11:00", "Фото есть, но битое",
                  photo=image_bytes()[:100])
    write(root, "empty.txt", "")
    write(root, "garbage.txt", bytes(range(256)) * 8)
    write(root, "chrome_only.txt", "ГОСОРГАНЫ\nФлаг Четверг, 13 марта 2025\nМинск +4°C\n")
    write(root, "feb31.txt", CHROME + "31 февраля 2025, 10:00\n\nЗаголовок\n\nТекст.-0-\n")
    write(root, "time2561.txt", CHROME + "3 марта 2025, 25:61\n\nЗаголовок\n\nТекст.-0-\n")
    write(root, "no_title.txt", CHROME + "3 марта 2025, 10:00\n\n")
    write(root, "no_body.txt", CHROME + "3 марта 2025, 10:00\n\nТолько заголовок\n")
    write(root, "controls.txt", article_text("Общество", "4 марта 2025, 09:00",
                                             "Управляющие\x0b символы\x00", ["Текст\x1f."]))
    write(root, "sub/empty_photo.txt",
          article_text("Общество", "5 марта 2025, 09:00", "Пустое фото", ["Текст."]))
    write(root, "sub/empty_photo.jpg", b"")
    write(root, "huge.txt", "Общество\n" + "x" * (1 << 20))
    return root


EXPECTED = """\
STORE/chrome_only.txt: no date line "D месяца YYYY, HH:MM" found
STORE/empty.txt: empty file
STORE/feb31.txt:3: impossible date or time '31 февраля 2025, 10:00'
STORE/garbage.txt: no date line "D месяца YYYY, HH:MM" found
STORE/good2.jpg: not a readable image; the default image is used instead
STORE/huge.txt: file is 1048593 bytes, over the 1048576 byte limit; skipped
STORE/no_body.txt:5: no body after the title
STORE/no_title.txt:3: no title after the date line
STORE/sub/empty_photo.jpg: photo file is empty; the default image is used instead
STORE/time2561.txt:3: impossible date or time '3 марта 2025, 25:61'
Articles per rubric:
  society: 4 (Общество)
  sport: 1 (Спорт)
5 articles, 2 rubrics, 10 problems (8 articles rejected)
"""


@pytest.fixture
def bad_client(tmp_path: Path) -> FlaskClient:
    return make_app(bad_store(tmp_path / "store"), tmp_path / "cache").test_client()


def test_check_names_every_bad_file(tmp_path: Path) -> None:
    root = bad_store(tmp_path / "store")
    result = make_app(root, tmp_path / "cache").test_cli_runner().invoke(args=["check"])
    assert result.output.replace(str(root), "STORE") == EXPECTED
    assert result.exit_code == 1


def test_check_passes_a_clean_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "only")
    result = make_app(root, tmp_path / "cache").test_cli_runner().invoke(args=["check"])
    assert result.output == ("Articles per rubric:\n  society: 1 (Общество)\n"
                             "1 articles, 1 rubrics, 0 problems (0 articles rejected)\n")
    assert result.exit_code == 0


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_good_articles_survive_a_bad_store(bad_client: FlaskClient, fmt: str) -> None:
    for feed in ("all", "society", "sport"):
        response = bad_client.get(f"/feeds/{feed}.{fmt}")
        assert response.status_code == 200
        parsed = feedparser.parse(response.data)
        assert not parsed.bozo, parsed.get("bozo_exception")
    titles = {e.title for e in feedparser.parse(bad_client.get(f"/feeds/all.{fmt}").data).entries}
    assert titles == {"Хорошая новость", "Фото есть, но битое", "Управляющие символы",
                      "Пустое фото", SEED_TEXT.splitlines()[8]}


def test_broken_photos_fall_back_to_the_default_image(bad_client: FlaskClient) -> None:
    items = json.loads(bad_client.get("/feeds/all.json").data)["items"]
    by_title = {item["title"]: item for item in items}
    for title in ("Фото есть, но битое", "Пустое фото"):
        assert "/photos/_default." in by_title[title]["image"]
        default = bad_client.get(by_title[title]["image"].split("feeds.test", 1)[1])
        assert len(default.data) == by_title[title]["attachments"][0]["size_in_bytes"]
