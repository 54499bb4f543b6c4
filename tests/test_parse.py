from __future__ import annotations

import pickle
import zoneinfo
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from dateutil import tz
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.model import Article
from feeds.parse import (
    MINSK,
    ParseError,
    clean_text,
    decode_article,
    parse_article,
    parse_published,
)

SEED_PATH = Path(__file__).parent / "fixtures" / "000_f7808c3b0d4d12dc.txt"
SEED_BYTES = SEED_PATH.read_bytes()
SEED_TEXT = SEED_BYTES.decode("utf-8")
SEED_LINES = SEED_TEXT.split("\n")

MONTHS = [
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
]  # fmt: skip

CHROME_HEAD = [
    "ГОСОРГАНЫГОСОРГАНЫ",
    "Флаг Четверг, 13 марта 2025",
    "Минск-Уручье Сплошная облачность +4°C",
    "Все новости",
]
TITLE = "Заголовок новости"
LEAD = "3 марта, Минск /БЕЛТА/. Первый абзац."


def article(*lines: str, date: str = "3 марта 2025, 10:15") -> str:
    """A minimal article: chrome, rubric, date line, title, then the given lines."""
    return "\n".join([*CHROME_HEAD, "Общество", date, "", TITLE, "", *lines])


def parse(text: str) -> Article:
    return parse_article(text, "a1", "content/a1.txt")


def error(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text)
    return info.value


def xml_ok(s: str) -> bool:
    """XML 1.0 Char production, written out independently of the parser, minus U+FEFF."""
    return all(
        c in "\t\n\r"
        or "\x20" <= c <= "\ud7ff"
        or ("\ue000" <= c <= "\ufffd" and c != "\ufeff")
        or c >= "\U00010000"
        for c in s
    )


# -- the seed -----------------------------------------------------------------


def test_seed() -> None:
    text, warning = decode_article(SEED_BYTES)
    a = parse_article(text, "000_f7808c3b0d4d12dc")
    assert warning is None
    assert a.id == "000_f7808c3b0d4d12dc"
    assert a.rubric == "Общество"
    assert a.published == datetime(2025, 2, 27, 14, 29, tzinfo=MINSK)
    assert a.published.tzinfo is MINSK
    assert a.published.utcoffset() == timedelta(hours=3)
    assert a.title == (
        "Алейник: взаимодействие Беларуси и Казахстана носит многогранный и многоуровневый характер"
    )
    assert isinstance(a.paragraphs, tuple)
    assert len(a.paragraphs) == 5
    assert a.paragraphs[0].startswith("27 февраля, Минск /Корр. БЕЛТА/. Взаимодействие")
    assert a.paragraphs[1].startswith("Сегодня состоялась встреча")
    assert a.paragraphs[-1].startswith('"Большое внимание')
    assert a.paragraphs[-1].endswith('областях".')
    assert all("-0-" not in p for p in a.paragraphs)
    assert a.credit == "Фото Сергея Шелега"
    assert a.dateline == "27 февраля, Минск /Корр. БЕЛТА/."
    assert a.source == "Корр. БЕЛТА"
    chrome = {*SEED_LINES[:7], *SEED_LINES[17:]}
    assert not chrome & set(a.paragraphs)
    assert a.text_without_dateline.startswith("Взаимодействие Беларуси")


# -- the date line ------------------------------------------------------------


@pytest.mark.parametrize("number, month", list(enumerate(MONTHS, start=1)))
def test_every_month(number: int, month: str) -> None:
    a = parse(article(LEAD, date=f"5 {month} 2024, 09:05"))
    assert a.published.replace(tzinfo=None) == datetime(2024, number, 5, 9, 5)
    assert parse_published(f"5 {month.upper()} 2024, 09:05") == a.published
    assert parse_published(f"5 {month.capitalize()} 2024, 09:05") == a.published


@pytest.mark.parametrize(
    "line, expected",
    [
        ("27 февраля 2025, 14:29", datetime(2025, 2, 27, 14, 29)),
        ("  27  февраля   2025 ,  14:29 ", datetime(2025, 2, 27, 14, 29)),
        ("27 февраля 2025 14:29", datetime(2025, 2, 27, 14, 29)),
        ("1 мая 2025, 9:00", datetime(2025, 5, 1, 9, 0)),
        ("Флаг Четверг, 13 марта 2025", None),
        ("13 марта 2025", None),
        ("Минск +4°C", None),
        ("Минск -12°C 14:29", None),
        ("Обновлено 27 февраля 2025, 14:29", None),
        ("27 февраля 2025, 14:29 Общество", None),
        ("27 февраль 2025, 14:29", None),
        ("27 февраля 25, 14:29", None),
        ("27 февраля 2025, 14.29", None),
        ("127 февраля 2025, 14:29", None),
        ("٢٧ февраля 2025, 14:29", None),
        ("27 фе\u1c80раля 2025, 14:29", None),  # a look-alike "в" is not a month
        ("27 мартобря 2025, 14:29", None),
    ],
)
def test_parse_published(line: str, expected: datetime | None) -> None:
    got = parse_published(line)
    if expected is None:
        assert got is None
    else:
        assert got == expected.replace(tzinfo=MINSK)
        assert got is not None and got.tzinfo is MINSK


def test_chrome_with_dates_and_numbers_before_the_date() -> None:
    text = "\n".join(
        [
            "Флаг Четверг, 13 марта 2025",
            "Пятница, 14 марта 2025, курсы валют",
            "13 марта 2025",
            "Минск +4°C",
            "Гомель -12°C",
            "USD 3,27 EUR 3,55",
            "12:45",
            "Экономика",
            "2 марта 2025, 18:40",
            "Курс рубля",
            "2 марта, Минск /БЕЛТА/. Текст.",
            "-0-",
        ]
    )
    a = parse(text)
    assert a.rubric == "Экономика"
    assert a.published == datetime(2025, 3, 2, 18, 40, tzinfo=MINSK)
    assert a.title == "Курс рубля"
    assert a.paragraphs == ("2 марта, Минск /БЕЛТА/. Текст.",)


def test_only_the_first_date_line_counts() -> None:
    a = parse(article(LEAD, "4 марта 2025, 11:00", "Ещё абзац.-0-"))
    assert a.published == datetime(2025, 3, 3, 10, 15, tzinfo=MINSK)
    assert a.paragraphs == (LEAD, "4 марта 2025, 11:00", "Ещё абзац.")


@pytest.mark.parametrize(
    "date, offset",
    [
        ("15 января 2005, 14:00", 2),  # EET before 2011
        ("15 июля 2005, 14:00", 3),  # EEST, summer time before 2011
        ("15 января 2010, 14:00", 2),
        ("15 июля 2012, 14:00", 3),  # permanent +03 since 2011
        ("27 февраля 2025, 14:29", 3),
    ],
)
def test_historical_offsets(date: str, offset: int) -> None:
    a = parse(article(LEAD, date=date))
    assert a.published.utcoffset() == timedelta(hours=offset)


@pytest.mark.parametrize(
    "date, naive",
    [
        ("15 июля 1985, 12:00", datetime(1985, 7, 15, 12)),
        ("15 января 1985, 12:00", datetime(1985, 1, 15, 12)),
        ("1 января 1920, 12:00", datetime(1920, 1, 1, 12)),
    ],
)
def test_pre_1991_offsets_follow_the_zone_database(date: str, naive: datetime) -> None:
    got = parse(article(LEAD, date=date)).published
    dateutil_says = naive.replace(tzinfo=tz.gettz("Europe/Minsk")).utcoffset()
    stdlib_says = naive.replace(tzinfo=zoneinfo.ZoneInfo("Europe/Minsk")).utcoffset()
    assert got.utcoffset() == dateutil_says == stdlib_says
    assert got.utcoffset() != timedelta(hours=3) or naive.month == 1


def test_spring_forward_gap_moves_forward() -> None:
    # 27 March 2005: Minsk clocks jumped from 02:00 to 03:00.
    got = parse_published("27 марта 2005, 02:30")
    assert got is not None
    assert got.replace(tzinfo=None) == datetime(2005, 3, 27, 3, 30)
    assert got.utcoffset() == timedelta(hours=3)


def test_ambiguous_time_takes_the_first() -> None:
    # 30 October 2005: 02:00-03:00 happened twice; fold=0 is the summer-time one.
    got = parse_published("30 октября 2005, 02:30")
    assert got is not None
    assert got.utcoffset() == timedelta(hours=3)
    assert got.fold == 0


@pytest.mark.parametrize(
    "date, shown",
    [
        ("31 февраля 2025, 10:00", "31 февраля 2025, 10:00"),
        ("29 февраля 2023, 10:00", "29 февраля 2023, 10:00"),
        ("0 марта 2025, 10:00", "0 марта 2025, 10:00"),
        ("3 марта 2025, 25:61", "3 марта 2025, 25:61"),
        ("3 марта 2025, 24:00", "3 марта 2025, 24:00"),
        ("3 марта 2025, 10:60", "3 марта 2025, 10:60"),
        ("3 марта 0000, 10:00", "3 марта 0000, 10:00"),
    ],
)
def test_impossible_date_or_time(date: str, shown: str) -> None:
    exc = error(article(LEAD, date=date))
    assert exc.line == 6  # 4 chrome lines, the rubric, then the date
    assert exc.reason == f"impossible date or time '{shown}'"
    assert exc.path == "content/a1.txt"
    with pytest.raises(ParseError) as info:
        parse_published(date)
    assert info.value.reason == exc.reason
    assert info.value.line is None


def test_impossible_date_line_number_counts_blank_and_crlf_lines() -> None:
    text = "\r\n\r\nОбщество\r\n\r\n31 февраля 2025, 10:00\r\nЗаголовок\r\nТекст"
    assert error(text).line == 5


def test_date_out_of_range() -> None:
    exc = error(article(LEAD, date="1 января 0001, 00:00"))
    assert exc.line == 6
    assert exc.reason.startswith("date out of range")


# -- body, end mark, credit ---------------------------------------------------


def test_end_mark_on_its_own_line() -> None:
    a = parse(article(LEAD, "", "Второй абзац.", "  -0-  ", "", "Фото: БЕЛТА", "Топ-новости"))
    assert a.paragraphs == (LEAD, "Второй абзац.")
    assert a.credit == "Фото: БЕЛТА"


def test_end_mark_attached_with_space() -> None:
    a = parse(article(LEAD, "Второй абзац. -0-", "Новости рубрики Общество"))
    assert a.paragraphs == (LEAD, "Второй абзац.")
    assert a.credit is None


def test_end_mark_keeps_chrome_looking_lines_before_it() -> None:
    a = parse(article(LEAD, "Актуально", "Фото сделаны днём.", "Конец.-0-"))
    assert a.paragraphs == (LEAD, "Актуально", "Фото сделаны днём.", "Конец.")


def test_credit_must_be_the_word_foto() -> None:
    a = parse(article(LEAD, "-0-", "Фотовыставка открылась"))
    assert a.credit is None
    b = parse(article(LEAD, "-0-", "Свежие новости", "Фото Ивана Иванова"))
    assert b.credit is None  # only the first line after -0- can be the credit


def test_no_end_mark_with_credit() -> None:
    a = parse(article(LEAD, "Второй абзац.", "", "Фото Ивана Петрова", "Новости рубрики Общество"))
    assert a.paragraphs == (LEAD, "Второй абзац.")
    assert a.credit == "Фото Ивана Петрова"


def test_no_end_mark_with_only_footer_chrome() -> None:
    a = parse(
        article(
            LEAD,
            "Фотовыставка открылась в субботу.",
            "Новости рубрики В мире",
            "Топ-новости",
            "Фото из архива",
            "Свежие новости Беларуси",
        )
    )
    assert a.paragraphs == (LEAD, "Фотовыставка открылась в субботу.")
    assert a.credit is None


@pytest.mark.parametrize(
    "footer", ["Топ-новости", "Свежие новости Беларуси", "Все новости", "Читайте также"]
)
def test_footer_lines_end_the_body(footer: str) -> None:
    a = parse(article(LEAD, footer, "Не абзац статьи."))
    assert a.paragraphs == (LEAD,)


def test_no_end_mark_and_no_footer_runs_to_the_end() -> None:
    a = parse(article(LEAD, "Второй.", "Третий."))
    assert a.paragraphs == (LEAD, "Второй.", "Третий.")


@pytest.mark.parametrize(
    "lead, dateline, source",
    [
        (LEAD, "3 марта, Минск /БЕЛТА/.", "БЕЛТА"),
        (
            "3 марта 2025, Брест /Корр. БЕЛТА, Иван Петров/. Текст.",
            "3 марта 2025, Брест /Корр. БЕЛТА, Иван Петров/.",
            "Корр. БЕЛТА, Иван Петров",
        ),
        (
            "3 МАРТА, Нью-Йорк /Спецкорр. БЕЛТА/. Текст.",
            "3 МАРТА, Нью-Йорк /Спецкорр. БЕЛТА/.",
            "Спецкорр. БЕЛТА",
        ),
        ("Без даты: Минск /БЕЛТА/. Текст.", None, None),
        ("3 марта, Минск /БЕЛТА/ - текст без точки.", None, None),
        ("Текст 3 марта, Минск /БЕЛТА/. внутри.", None, None),
    ],
)
def test_dateline(lead: str, dateline: str | None, source: str | None) -> None:
    a = parse(article(lead, "-0-"))
    assert a.dateline == dateline
    assert a.source == source
    assert a.paragraphs[0] == lead  # the dateline stays in the paragraph


# -- rejected files -----------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t\n", "\ufeff\x00\n"])
def test_empty_file(text: str) -> None:
    exc = error(text)
    assert exc.reason == "empty file"
    assert exc.line is None


def test_only_chrome() -> None:
    exc = error("\n".join([*CHROME_HEAD, "Новости рубрики Общество", "Топ-новости"]))
    assert exc.reason == 'no date line "D месяца YYYY, HH:MM" found'
    assert exc.line is None
    assert str(exc) == 'content/a1.txt: no date line "D месяца YYYY, HH:MM" found'


def test_date_but_no_rubric() -> None:
    exc = error("\n27 февраля 2025, 14:29\nЗаголовок\nТекст")
    assert exc.line == 2
    assert "rubric" in exc.reason


def test_date_but_no_title() -> None:
    exc = error("Общество\n27 февраля 2025, 14:29\n\n  \n")
    assert exc.reason == "no title after the date line"
    assert exc.line == 2


@pytest.mark.parametrize(
    "tail", [[], ["", ""], ["-0-", "Фото Ивана"], ["Фото Ивана", "Текст"], ["Топ-новости"]]
)
def test_title_but_no_body(tail: list[str]) -> None:
    exc = error("\n".join(["Общество", "27 февраля 2025, 14:29", "Заголовок", *tail]))
    assert exc.reason == "no body after the title"
    assert exc.line == 3  # the title's line
    assert str(exc) == "content/a1.txt:3: no body after the title"


def test_bad_article_id() -> None:
    with pytest.raises(ParseError) as info:
        parse_article(article(LEAD), "bad\x01id")
    assert "id" in info.value.reason


# -- ParseError ----------------------------------------------------------------


@pytest.mark.parametrize(
    "line, path, expected",
    [
        (7, "content/2025/x.txt", "content/2025/x.txt:7: why"),
        (None, "content/2025/x.txt", "content/2025/x.txt: why"),
        (7, "", "7: why"),
        (None, "", "why"),
    ],
)
def test_error_format(line: int | None, path: str, expected: str) -> None:
    exc = ParseError("why", line, path)
    assert str(exc) == expected
    assert (exc.reason, exc.line, exc.path) == ("why", line, path)
    assert isinstance(exc, ValueError)
    copy = pickle.loads(pickle.dumps(exc))
    assert (copy.reason, copy.line, copy.path, str(copy)) == ("why", line, path, expected)


def test_error_from_parse_names_path_and_line() -> None:
    exc = error(article(LEAD, date="31 февраля 2025, 10:00"))
    assert str(exc) == "content/a1.txt:6: impossible date or time '31 февраля 2025, 10:00'"


# -- decoding and cleaning ----------------------------------------------------


def test_decode_crlf_and_bom() -> None:
    data = b"\xef\xbb\xbf" + SEED_BYTES.replace(b"\n", b"\r\n")
    text, warning = decode_article(data)
    assert warning is None
    assert text == SEED_TEXT
    assert parse_article(text, "s") == parse_article(SEED_TEXT, "s")


def test_decode_lone_cr() -> None:
    text, warning = decode_article(b"a\rb\r\nc\n")
    assert (text, warning) == ("a\nb\nc\n", None)


def test_decode_cp1251() -> None:
    text, warning = decode_article(SEED_TEXT.replace("\n", "\r\n").encode("cp1251"))
    assert warning == "not valid UTF-8, read as Windows-1251"
    assert text == SEED_TEXT
    assert parse_article(text, "s").rubric == "Общество"


def test_decode_cp1251_undefined_byte_is_replaced() -> None:
    text, warning = decode_article("Общество".encode("cp1251") + b"\x98")
    assert warning is not None
    assert text == "Общество\ufffd"


def test_decode_removes_forbidden_characters() -> None:
    text, _ = decode_article("a\x00b\x0bc\x1fd\ufeffe\tf".encode())
    assert text == "abcde\tf"


def test_clean_text() -> None:
    dirty = "\x00a\x08b\x0bc\x0cd\x0e\x1fe\ud800f\udfff\ufffe\uffffg\ufeffh\t\n\r\x7f\U0001f600"
    assert clean_text(dirty) == "abcdefgh\t\n\r\x7f\U0001f600"
    assert clean_text(SEED_TEXT) == SEED_TEXT


def test_control_characters_are_removed_from_every_field() -> None:
    text = article(
        "3 марта, Минск /\x00БЕЛТА\x1f/. Первый\x0b абзац.",
        "Вто\x00рой.-0-",
        "Фото\x1f Ивана",
    ).replace(TITLE, "Заго\x0bловок\ufeff")
    a = parse("\x1f" + text.replace("Общество", "Обще\x00ство"))
    assert a.rubric == "Общество"
    assert a.title == "Заголовок"
    assert a.paragraphs == ("3 марта, Минск /БЕЛТА/. Первый абзац.", "Второй.")
    assert a.source == "БЕЛТА"
    assert a.credit == "Фото Ивана"


# -- properties ----------------------------------------------------------------

SPECIAL_LINES = [
    "-0-",
    "Текст.-0-",
    "Фото Ивана",
    "Фото:",
    "Фотовыставка",
    "Топ-новости",
    "Новости рубрики Общество",
    "31 февраля 2025, 10:00",
    "3 марта 2025, 25:61",
    "27 марта 2005, 02:30",
    "1 января 0001, 00:00",
    "3 марта, Минск /БЕЛТА/.",
    "3 марта, /  /.",
    "  ",
    "\x00\ufeff",
    "\ud800",
    "1 фе\u1c80раля 2025, 10:00",
    "1 ФЕВРАЛЯ 2025 10:00",
    "3 мАрТа, Минск /БЕЛТА/. Текст",
]

lines_strategy = st.lists(
    st.one_of(
        st.sampled_from(SEED_LINES),
        st.sampled_from(SPECIAL_LINES),
        st.text(max_size=40),
        st.builds(
            "{} {} {}, {}:{:02}".format,
            st.integers(0, 40),
            st.sampled_from(MONTHS),
            st.integers(1, 9999),
            st.integers(0, 30),
            st.integers(0, 70),
        ),
    ),
    max_size=30,
)
texts = st.one_of(
    st.text(),
    st.builds(lambda ls, sep: sep.join(ls), lines_strategy, st.sampled_from(["\n", "\r\n", "\r"])),
)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_any_text_parses_or_raises_parse_error(text: str) -> None:
    try:
        a = parse_article(text, "id", "p.txt")
    except ParseError as exc:
        assert not exc.reason.startswith("internal"), exc.reason
        assert exc.path == "p.txt"
        assert exc.line is None or 1 <= exc.line <= text.count("\n") + text.count("\r") + 1
        return
    assert a.id == "id"
    assert a.published.tzinfo is MINSK
    assert a.rubric and a.title and a.paragraphs
    assert all(a.paragraphs)
    fields = [a.rubric, a.title, *a.paragraphs, a.credit, a.dateline, a.source]
    assert all(xml_ok(f) for f in fields if f is not None)
    assert all(f == f.strip() for f in [a.rubric, a.title, *a.paragraphs])


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_clean_text_keeps_exactly_the_xml_characters(text: str) -> None:
    assert clean_text(text) == "".join(c for c in text if xml_ok(c))


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_decode_article_always_gives_clean_lf_text(data: bytes) -> None:
    text, warning = decode_article(data)
    assert xml_ok(text)
    assert "\r" not in text
    assert warning in (None, "not valid UTF-8, read as Windows-1251")
