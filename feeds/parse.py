"""Article text -> Article: find the date line, then read rubric, title, body and credit.

Pure functions only; ``store.py`` reads the bytes and hands them to ``decode_article``.
The layout is described in README.md, "The store" (see the seed in ``tests/fixtures``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dateutil import tz

from .model import MINSK, Article

__all__ = [
    "MINSK",
    "ParseError",
    "clean_text",
    "decode_article",
    "parse_article",
    "parse_published",
]

CP1251_WARNING = "not valid UTF-8, read as Windows-1251"


class ParseError(ValueError):
    """An article file that cannot be published, with where and why."""

    def __init__(self, reason: str, line: int | None = None, path: str = "") -> None:
        # All three go to args so the error survives pickling between workers.
        super().__init__(reason, line, path)
        self.reason = reason
        self.line = line
        self.path = path

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where = f"{where}:{self.line}" if where else str(self.line)
        return f"{where}: {self.reason}" if where else self.reason


# Characters XML 1.0 forbids, plus U+FEFF (a BOM mid-text is an export artefact).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufeff\ufffe\uffff]+")


def clean_text(text: str) -> str:
    """Drop every character an XML 1.0 feed cannot carry, so rendering never fails."""
    return _FORBIDDEN.sub("", text)


def decode_article(data: bytes) -> tuple[str, str | None]:
    """Decode a file as the newsroom writes it: UTF-8, or legacy Windows-1251 with a warning."""
    warning = None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1251", errors="replace")
        warning = CP1251_WARNING
    return clean_text(_normalise_newlines(text)), warning


def _normalise_newlines(text: str) -> str:
    """Turn CRLF and lone CR into LF so line numbers match what editors show."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


_MONTH_NAMES = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}

# "27 февраля 2025, 14:29": ASCII digits only; the comma before the time may be missing.
# The month is any word here and checked against _MONTHS after .lower(): re.IGNORECASE
# would also accept look-alikes such as U+1C80 for "в" that no lookup table knows.
_DATE_LINE = re.compile(
    r"([0-9]{1,2})\s+([^\W\d_]+)\s+([0-9]{4})(?:\s*,\s*|\s+)([0-9]{1,2}):([0-9]{2})"
)

# "27 февраля, Минск /Корр. БЕЛТА/." at the start of the first paragraph.
_DATELINE = re.compile(
    r"(?P<dateline>[0-9]{1,2}\s+(?P<month>[^\W\d_]+)(?:\s+[0-9]{4})?\s*,\s*[^/,\s][^/]{0,80}?"
    r"\s*/\s*(?P<source>[^/\s][^/]{0,100}?)\s*/\.)"
)

_CREDIT = re.compile(r"(?:Фото|ФОТО)[\s:]")

# Site chrome that follows the body on the agency's pages; matched against whole lines.
_FOOTER = re.compile(
    r"(?:Новости рубрики(?:\s+\S+){1,4}"
    r"|Топ-новости|Все новости|Свежие новости(?:\s+\S+){0,2}|Последние новости"
    r"|Главные новости|Другие новости|Новости по теме|Актуально|Популярное"
    r"|Читайте также:?)",
    re.IGNORECASE,
)

_END_MARK = "-0-"


def _resolve(line: str, match: re.Match[str]) -> datetime:
    """Minsk wall time of a matched date line as an aware datetime."""
    day, month, year, hour, minute = match.groups()
    shown = f"'{line}'"
    try:
        naive = datetime(int(year), _MONTHS[month.lower()], int(day), int(hour), int(minute))
    except ValueError:
        raise ParseError(f"impossible date or time {shown}") from None
    try:
        # Through the zone database, so pre-2011 summer time and older offsets come out right.
        published = tz.resolve_imaginary(naive.replace(tzinfo=MINSK))
        published.astimezone(UTC)  # feeds need UTC; year 1 cannot get there
    except (OverflowError, ValueError):
        raise ParseError(f"date out of range {shown}") from None
    return published


def _date_line(line: str) -> re.Match[str] | None:
    """The match if a stripped line is a full date-with-time line."""
    if not line[:1].isdigit():  # most lines fail here, cheaply
        return None
    match = _DATE_LINE.fullmatch(line)
    return match if match is not None and match[2].lower() in _MONTHS else None


def parse_published(line: str) -> datetime | None:
    """Published time of a "D месяца YYYY, HH:MM" line, or None if the line is not one."""
    stripped = line.strip()
    match = _date_line(stripped)
    return None if match is None else _resolve(stripped, match)


def parse_article(text: str, article_id: str, path: str = "") -> Article:
    """Read one article's text; any problem with it becomes a ParseError naming the line."""
    try:
        return _parse(text, article_id, path)
    except ParseError:
        raise
    except Exception as exc:  # a crash must not stop the whole store scan
        raise ParseError(f"internal parser error: {type(exc).__name__}: {exc}", path=path) from exc


def _parse(text: str, article_id: str, path: str) -> Article:
    """Do the work of parse_article; every rejection here is a deliberate ParseError."""
    if clean_text(article_id) != article_id:
        # The id becomes GUIDs and URLs; silently changing it would change its identity.
        raise ParseError(f"article id {article_id!r} has characters XML cannot carry", None, path)
    lines = [line.strip() for line in clean_text(_normalise_newlines(text)).split("\n")]
    if not any(lines):
        raise ParseError("empty file", None, path)

    date_at = -1
    published = None
    for i, line in enumerate(lines):
        match = _date_line(line)
        if match is not None:
            try:
                published = _resolve(line, match)
            except ParseError as exc:
                raise ParseError(exc.reason, i + 1, path) from None
            date_at = i
            break
    if published is None:
        raise ParseError('no date line "D месяца YYYY, HH:MM" found', None, path)

    rubric = next((line for line in reversed(lines[:date_at]) if line), None)
    if rubric is None:
        raise ParseError("no rubric line before the date line", date_at + 1, path)

    title_at = next((i for i in range(date_at + 1, len(lines)) if lines[i]), None)
    if title_at is None:
        raise ParseError("no title after the date line", date_at + 1, path)

    paragraphs, credit = _body(lines, title_at + 1)
    if not paragraphs:
        raise ParseError("no body after the title", title_at + 1, path)

    dateline = source = None
    match = _DATELINE.match(paragraphs[0])
    if match is not None and match["month"].lower() in _MONTHS:
        dateline, source = match.group("dateline", "source")

    return Article(
        id=article_id,
        rubric=rubric,
        published=published,
        title=lines[title_at],
        paragraphs=tuple(paragraphs),
        credit=credit,
        dateline=dateline,
        source=source,
    )


def _body(lines: list[str], start: int) -> tuple[list[str], str | None]:
    """Paragraphs from ``start`` to the end mark (or the credit or footer), and the credit."""
    end = next((i for i in range(start, len(lines)) if lines[i].endswith(_END_MARK)), None)
    if end is not None:
        paragraphs = [line for line in lines[start:end] if line]
        last = lines[end][: -len(_END_MARK)].rstrip()
        if last:
            paragraphs.append(last)
        after = next((line for line in lines[end + 1 :] if line), "")
        return paragraphs, (after if _CREDIT.match(after) else None)

    # No end mark: the body runs until the photo credit or the site's footer.
    paragraphs = []
    for line in lines[start:]:
        if not line:
            continue
        if _CREDIT.match(line):
            return paragraphs, line
        if _FOOTER.fullmatch(line):
            break
        paragraphs.append(line)
    return paragraphs, None
