"""The publisher's vocabulary: articles, photos, requests and what can go wrong.

No I/O, but for the Minsk time zone, read once at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import tz

_minsk = tz.gettz("Europe/Minsk")
if _minsk is None:  # without the zone every published time would be a guess
    raise RuntimeError("time zone Europe/Minsk not found: install tzdata")
MINSK: tzinfo = _minsk  # the zone of every date the service shows

try:  # the C zone database: the same offsets as MINSK, without Python code per call
    _FAST_MINSK: ZoneInfo | None = ZoneInfo("Europe/Minsk")
except ZoneInfoNotFoundError:  # pragma: no cover - tzdata is a dependency
    _FAST_MINSK = None


def minsk_time(timestamp: float) -> datetime:
    """An aware Minsk datetime carrying MINSK, as parsing makes them, a few times faster."""
    if _FAST_MINSK is None:
        return datetime.fromtimestamp(timestamp, MINSK)
    return datetime.fromtimestamp(timestamp, _FAST_MINSK).replace(tzinfo=MINSK)


class Photo(NamedTuple):
    """An image file whose exact bytes are served as an entry's enclosure.

    A named tuple, as Entry: a start makes one for every photo of the archive.
    """

    path: str  # filesystem path of the image
    size: int  # bytes on disk: the enclosure's length
    mime_type: str  # sniffed from the content, never from the extension
    width: int | None = None
    height: int | None = None
    mtime_ns: int = 0

    @property
    def extension(self) -> str:
        """File extension that matches the real content type."""
        return MIME_EXTENSIONS.get(self.mime_type, "bin")


MIME_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
}


@dataclass(frozen=True, slots=True)
class Article:
    """One parsed article file: what the newsroom wrote, minus the site chrome."""

    id: str
    rubric: str
    published: datetime  # aware, Europe/Minsk
    title: str
    paragraphs: tuple[str, ...]  # body; the first one starts with the dateline
    credit: str | None = None  # "Фото Сергея Шелега"
    dateline: str | None = None  # "27 февраля, Минск /Корр. БЕЛТА/."
    source: str | None = None  # "Корр. БЕЛТА"

    @property
    def lead(self) -> str:
        """The first paragraph, used as the summary."""
        return self.paragraphs[0] if self.paragraphs else ""

    @property
    def text_without_dateline(self) -> str:
        """Plain body text with the dateline removed (for Yandex full-text)."""
        paragraphs = list(self.paragraphs)
        if paragraphs and self.dateline and paragraphs[0].startswith(self.dateline):
            paragraphs[0] = paragraphs[0][len(self.dateline) :].lstrip()
        return "\n\n".join(p for p in paragraphs if p)


class FileStat(NamedTuple):
    """Size and mtime: a tuple, so comparing many of them stays in C."""

    size: int
    mtime_ns: int


class Entry(NamedTuple):
    """An article's row in the store index: metadata only, the body stays on disk.

    A start makes one for every article at once, so: a named tuple (one call that
    fills a tuple, not a frozen dataclass's __init__ setting each field through
    object.__setattr__); the publish time kept as Unix time, which sorting and
    embargoes compare, and the datetime made only when asked for (the few entries
    a page shows); the file's stat the very object the scanner keeps for it. The
    title stays in the index with the body's other fields (Store.titles): the few
    lists that show titles without the body ask for them, and 100,000 titles are
    not held by every worker.
    """

    id: str
    path: str
    rubric: str
    slug: str
    timestamp: float  # published, Unix time
    stat: FileStat  # of the file this entry was read from
    photo: Photo | None = None

    @property
    def published(self) -> datetime:
        """Aware, Europe/Minsk."""
        return minsk_time(self.timestamp)

    @property
    def size(self) -> int:
        return self.stat.size

    @property
    def mtime_ns(self) -> int:
        return self.stat.mtime_ns

    @property
    def sort_key(self) -> tuple[float, str]:
        """Newest first; the same minute is ordered by id so every process agrees."""
        return (-self.timestamp, self.id)


class NotFound(LookupError):
    """The request names a feed, page or article that does not exist."""


class InvalidQuery(ValueError):
    """A query parameter is malformed; the message says which and why."""


@dataclass(frozen=True, slots=True, order=True)
class Term:
    """One word or quoted phrase of a search, folded (search.parse_query makes them)."""

    words: tuple[str, ...]
    phrase: bool = False
    prefix: str | None = None  # a stem matched as a prefix; None: the words match exactly


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search: all of `include`, none of `exclude`; sorted, so equal searches
    make equal cache keys."""

    include: tuple[Term, ...] = ()
    exclude: tuple[Term, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)


NO_QUERY = Query()


@dataclass(frozen=True, slots=True)
class FeedRequest:
    """What a client asked for; also the cache key's first half."""

    name: str  # "all" or a rubric slug
    fmt: str  # a format's extension: rss, atom or json
    limit: int
    page: int | None = None  # an archive page, counted from the oldest entry
    query: Query = NO_QUERY  # ?q= and ?exclude=
    since: float | None = None  # ?since=, Unix time
    flavour: str = ""  # "yandex" or "dzen": an aggregator's own RSS profile

    @property
    def filtered(self) -> bool:
        return bool(self.query or self.since is not None)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with one file; fatal problems keep an article out of the feeds."""

    path: str
    reason: str
    line: int | None = None
    fatal: bool = True

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.reason}"


# The agency's own rubrics keep the slugs its site already uses.
KNOWN_RUBRIC_SLUGS = {
    "Президент": "president",
    "Политика": "politics",
    "Экономика": "economics",
    "Общество": "society",
    "Регионы": "regions",
    "Происшествия": "incident",
    "В мире": "world",
    "Технологии": "tech",
    "Спорт": "sport",
    "Культура": "culture",
}

# Slugs that name other URLs of the service and so cannot be rubric slugs.
RESERVED_SLUGS = frozenset(
    {"all", "yandex", "dzen", "feeds", "articles", "photos", "static", "archive", "page",
     "sitemaps", "search"}
)

_LATIN = "a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch - y - e yu ya i u e"
_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіўє", _LATIN.split(), strict=True))


def transliterate_slug(name: str) -> str:
    """Latin slug for a rubric the agency has not given one ("Наука" -> "nauka")."""
    out: list[str] = []
    for char in name.lower():
        if char in _TRANSLIT:
            latin = _TRANSLIT[char]
            out.append("" if latin == "-" else latin)
        elif char.isascii() and char.isalnum():
            out.append(char)
        else:
            out.append("-")
    slug = "-".join(part for part in "".join(out).split("-") if part)
    return slug or "rubric"


def default_slug(name: str) -> str:
    """The slug a rubric gets unless another rubric already took it."""
    return KNOWN_RUBRIC_SLUGS.get(name) or transliterate_slug(name)


def assign_slugs(names: set[str] | list[str]) -> dict[str, str]:
    """Give every rubric name a unique slug, the same whatever order they came in."""
    taken: set[str] = set(RESERVED_SLUGS)
    result: dict[str, str] = {}
    for name in sorted(names, key=lambda n: (n not in KNOWN_RUBRIC_SLUGS, n)):
        base = default_slug(name)
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        result[name] = slug
    return result
