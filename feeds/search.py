"""Full-text search over the whole archive: reader queries to SQLite FTS5 and back.

The article index (index.py) keeps an FTS5 table of every parsed article, with
ё folded to е (FTS5's own folding leaves ё alone), and a row id that sorts by
publish time: published seconds times a million plus a slot. So "newest first"
is the table's own order, a search reads only as many matches as it shows, and
embargoed articles are cut off by a row-id bound before any row is read.

Word forms: a query word is cut to its Snowball Russian stem and matched as a
prefix ("Минск" -> минск*, finding Минске, Минского; "Беларусь" -> белар*). Stems
alone would miss pairs the stemmer splits (Беларусь -> белар, Беларуси ->
беларус), and the index keeps the plain words, so snippets quote the text.
Words of three letters or fewer, stems shorter than three letters, and words
without Cyrillic letters (ВНП, 2025, IT) match exactly: a short prefix would
match half the vocabulary and cost a full merge of its postings.

Reader input never reaches FTS syntax: every word is quoted, and ", *, :, (,
NEAR and the like are either separators or plain words.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import Stemmer

from .index import ROWID_SLOTS, ArticleIndex
from .model import Entry, InvalidQuery, Query, Term
from .names import from_db_key
from .snapshot import Snapshot

log = logging.getLogger("feeds.search")

MAX_QUERY_LENGTH = 200  # characters of ?q= or ?exclude=
MAX_TERMS = 12  # words and phrases in one search, exclusions included
# A search may not run longer than this; a query that would is answered 429.
_TIME_BUDGET = 0.5
# Searching requests may take this many worker-seconds per second, all workers together,
# with bursts of up to _BURST seconds: beyond it a search is answered 429 at once.
_SHARE = 0.5
_BURST = 2.0
# A stem standing for more words than this is searched as an FTS5 prefix (see Searcher).
_MAX_FORMS = 200

_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile("[а-яіўє]")
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')

_stemmer = Stemmer.Stemmer("russian")
_stemmer_lock = threading.Lock()  # a Stemmer object is not safe across threads


class SearchBusy(RuntimeError):
    """Too many searches at once, or one too costly: retry later."""


def fold(text: str) -> str:
    """Case- and ё-insensitive form of Russian text, as it is indexed and queried."""
    return text.lower().replace("ё", "е")


def index_text(text: str) -> str:
    """What FTS5 gets: the text with ё as е (FTS5 lower-cases by itself)."""
    return text.replace("ё", "е").replace("Ё", "Е")


@lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    with _stemmer_lock:
        return str(_stemmer.stemWord(word))


def _term(words: tuple[str, ...], phrase: bool) -> Term:
    """A Term with its prefix: the word's stem, unless the word must match exactly."""
    prefix = None
    if not phrase and len(words) == 1:
        word = words[0]
        if len(word) > 3 and _CYRILLIC.search(word):
            stem = _stem(word)
            prefix = stem if len(stem) >= 3 else None
    return Term(words, phrase, prefix)


def _fts(term: Term) -> str:
    """A term as an FTS5 phrase: always quoted, so never an operator."""
    if term.prefix is not None:
        return f'"{term.prefix}"*'
    return '"' + " ".join(term.words) + '"'


def _matches(term: Term, word: str) -> bool:
    """Whether one folded word of a text is a hit of this term (for highlighting)."""
    if term.prefix is not None:
        return word.startswith(term.prefix)
    return word in term.words


def match_expression(query: Query, tag: str | None = "all",
                     phrase: Callable[[Term], str] = _fts) -> str:
    """The FTS5 MATCH expression: reader terms only in title and body; tag None: every
    article (all of them carry "all"), and `phrase` writes each term."""
    if query.include:
        text = " AND ".join(map(phrase, query.include))
        expression = f"{{title body}} : ({text})"
        if tag is not None:
            expression = f'({expression}) AND (tags : "{tag}")'
    else:
        expression = f'(tags : "{tag or "all"}")'
    if query.exclude:
        text = " OR ".join(map(phrase, query.exclude))
        expression = f"({expression}) NOT ({{title body}} : ({text}))"
    return expression


def query_text(query: Query) -> str:
    """The query written back the way a reader would type it."""
    def show(term: Term) -> str:
        return f'"{" ".join(term.words)}"' if term.phrase else term.words[0]
    return " ".join([*map(show, query.include), *("-" + show(t) for t in query.exclude)])


def _terms(chunk: str, quoted: bool) -> list[Term]:
    words = tuple(_WORD.findall(fold(chunk)))
    if not words:
        return []
    if quoted or len(words) > 1:  # "Минск-Москва" is a phrase of two words
        return [_term(words, phrase=len(words) > 1)]
    return [_term(words, phrase=False)]


def parse_query(q: str, exclude: str = "") -> Query:
    """Reader text -> Query: words, "quoted phrases", -excluded words or phrases.

    Raises InvalidQuery for input too long or with too many words; input with no
    words at all gives an empty Query (the caller decides whether that is wrong).
    """
    for name, raw in (("q", q), ("exclude", exclude)):
        if len(raw) > MAX_QUERY_LENGTH:
            raise InvalidQuery(f"{name} is longer than {MAX_QUERY_LENGTH} characters")
    include: set[Term] = set()
    excluded: set[Term] = set()
    for match in _TOKEN.finditer(q):
        minus, phrase, bare = match.groups()
        if phrase is not None:
            (excluded if minus else include).update(_terms(phrase, quoted=True))
        elif bare.startswith("-"):
            excluded.update(_terms(bare[1:], quoted=False))
        else:
            include.update(_terms(bare, quoted=False))
    for match in _TOKEN.finditer(exclude):
        minus, phrase, bare = match.groups()
        excluded.update(_terms(phrase if phrase is not None else bare.lstrip("-"),
                               quoted=phrase is not None))
    if len(include) + len(excluded) > MAX_TERMS:
        raise InvalidQuery(f"a search takes at most {MAX_TERMS} words and phrases")
    return Query(tuple(sorted(include)), tuple(sorted(excluded - include)))


def rubric_tag(rubric: str) -> str:
    """The token that marks a rubric's articles in the tags column."""
    return "r" + hashlib.blake2b(rubric.encode(), digest_size=6).hexdigest()


def document(title: str, paragraphs: Sequence[str], rubric: str) -> tuple[str, str, str]:
    """The title, body and tags columns of one article's search row."""
    return (index_text(title), index_text("\n".join(paragraphs)), f"all {rubric_tag(rubric)}")


# -- running searches ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """One page of results, newest first, and whether more follow."""

    entries: tuple[Entry, ...]
    more: bool


class Searcher:
    """Runs searches on the index file with a read-only connection of its own.

    A stem is matched as the words it stands for ("работ" OR "работа" OR ...), taken
    from the index's word table, not as an FTS5 prefix: FTS5 answers a prefix by
    merging the whole posting lists of every word that starts with it before the
    first row (36 ms for работ* AND проект* on a 100,000-article store), where a
    list of words is read lazily from the newest end (0.5 ms). A stem of more than
    _MAX_FORMS words stays a prefix: the answer is the same either way.
    """

    def __init__(self, index: Callable[[], ArticleIndex],
                 time_budget: float = _TIME_BUDGET) -> None:
        self.index = index
        self.time_budget = time_budget
        self._db: sqlite3.Connection | None = None
        self._db_key: tuple[int, str] | None = None
        self._lock = threading.Lock()

    def _connection(self, cache: ArticleIndex) -> sqlite3.Connection:
        if cache.path is None:
            return cache.db  # the index is kept in memory: read it through its own link
        key = (os.getpid(), str(cache.path))
        if self._db is None or self._db_key != key:
            db = sqlite3.connect(key[1], timeout=5, check_same_thread=False,
                                 isolation_level=None)
            db.execute("PRAGMA query_only=1")
            self._db, self._db_key = db, key
        return self._db

    def find(self, snapshot: Snapshot, query: Query, slug: str | None, now: float,
             limit: int, offset: int = 0, since: float | None = None) -> Page:
        """Released entries of the feed (slug None: all) that match, newest first."""
        tag = None if slug is None else rubric_tag(snapshot.rubrics.get(slug, ""))
        high = (int(now) + 1) * ROWID_SLOTS - 1
        low = -(2**63) if since is None else int(since) * ROWID_SLOTS
        want = offset + limit + 1  # one more tells whether another page follows
        cache = self.index()
        with self._lock:
            db = self._connection(cache)
            deadline = time.monotonic() + self.time_budget
            db.set_progress_handler(lambda: time.monotonic() > deadline, 2000)
            try:
                if db is not cache.db:  # one read transaction: words and rows agree
                    db.execute("BEGIN")
                match = match_expression(query, tag, partial(_forms, db))
                found = self._collect(db, snapshot, match, slug, now, since, low, high, want)
            except sqlite3.OperationalError as exc:
                if "interrupt" in str(exc):
                    raise SearchBusy("search took too long") from None
                raise
            finally:
                if db is not cache.db and db.in_transaction:
                    db.execute("COMMIT")
                db.set_progress_handler(None, 0)
        found.sort(key=lambda entry: entry.sort_key)
        return Page(tuple(found[offset : offset + limit]), len(found) > offset + limit)

    @staticmethod
    def _collect(db: sqlite3.Connection, snapshot: Snapshot, match: str, slug: str | None,
                 now: float, since: float | None, low: int, high: int,
                 want: int) -> list[Entry]:
        """Walk matches newest first until `want` entries, finishing the last second so
        articles of one minute can be ordered by id like the feeds order them."""
        cursor = db.execute(
            "SELECT s.rowid, d.path FROM search AS s JOIN search_docs AS d ON d.docid = s.rowid"
            " WHERE search MATCH ? AND s.rowid BETWEEN ? AND ? ORDER BY s.rowid DESC",
            (match, low, high))
        found: list[Entry] = []
        last_second: int | None = None
        for rowid, key in cursor:
            path = from_db_key(key)
            second = rowid // ROWID_SLOTS
            if len(found) >= want and second != last_second:
                break
            entry = snapshot.by_id.get(os.path.basename(path)[:-4])
            # The index may hold files this process has not seen yet, or has seen go.
            if (entry is None or entry.path != path or entry.timestamp > now
                    or (slug is not None and entry.slug != slug)
                    or (since is not None and entry.timestamp < since)):
                continue
            found.append(entry)
            last_second = second
        cursor.close()
        return found


def _forms(db: sqlite3.Connection, term: Term) -> str:
    """A term as an FTS5 expression, a stem as the indexed words that start with it."""
    if term.prefix is None:
        return _fts(term)
    prefix = term.prefix
    if ord(prefix[-1]) >= 0xD7FF:  # no next character to bound the range with
        return _fts(term)
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first string past every prefix+...
    words = [word for (word,) in db.execute(
        "SELECT term FROM search_terms WHERE term >= ? AND term < ? LIMIT ?",
        (prefix, after, _MAX_FORMS + 1))]
    if not words or len(words) > _MAX_FORMS:
        return _fts(term)  # none: the prefix costs nothing either
    return "(" + " OR ".join('"' + word.replace('"', '""') + '"' for word in words) + ")"


class SearchBudget:
    """A token bucket of worker time shared by every worker through a small file.

    A search is admitted while the bucket holds any time; afterwards the time its
    request took is taken out. The bucket refills at `share` seconds per second,
    so distinct queries (which no cache answers) can never take more than that
    share of the workers from plain feed polls, however many arrive.
    """

    _STATE = struct.Struct("dd")  # tokens, monotonic time of the last update

    def __init__(self, path: Path | None, share: float = _SHARE, burst: float = _BURST) -> None:
        self.path, self.share, self.burst = path, share, burst
        self._fd: int | None = None
        self._pid = 0
        self._memory = (burst, time.monotonic())  # without a usable file: this process only
        self._lock = threading.Lock()

    def _file(self) -> int | None:
        if self.path is None:
            return None
        if self._fd is None or self._pid != os.getpid():
            try:
                self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644), os.getpid()
            except OSError as exc:
                log.warning("search budget file %s unusable (%s); kept per process",
                            self.path, exc)
                self.path = None
                return None
        return self._fd

    def _update(self, spent: float) -> float:
        """Refill, take `spent` out, and return what the bucket held before."""
        with self._lock:
            fd = self._file()
            now = time.monotonic()
            if fd is None:
                tokens, stamp = self._memory
            else:
                fcntl.flock(fd, fcntl.LOCK_EX)
                raw = os.pread(fd, self._STATE.size, 0)
                tokens, stamp = (self._STATE.unpack(raw) if len(raw) == self._STATE.size
                                 else (self.burst, now))
            held = min(self.burst, tokens + max(0.0, now - stamp) * self.share)
            state = (held - spent, now)
            if fd is None:
                self._memory = state
            else:
                os.pwrite(fd, self._STATE.pack(*state), 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
            return held

    def admit(self) -> None:
        """Raise SearchBusy while searches have used up their share."""
        if self._update(0.0) <= 0:
            raise SearchBusy("searches have used their share of the machine")

    def charge(self, cpu_seconds: float) -> None:
        self._update(cpu_seconds)


def snippet(query: Query, text: str, width: int = 30) -> list[tuple[str, bool]]:
    """The stretch of text with the most hits, as (piece, is_hit) pairs to escape and mark."""
    words = list(_WORD.finditer(text))
    if not words:
        return []
    hits = [any(_matches(term, fold(match.group())) for term in query.include)
            for match in words]
    best, best_count = 0, -1
    count = sum(hits[:width])
    for start in range(max(1, len(words) - width + 1)):
        if start:
            count += (hits[start + width - 1] if start + width - 1 < len(hits) else 0)
            count -= hits[start - 1]
        if count > best_count:
            best, best_count = start, count
    end = min(len(words), best + width)
    pieces: list[tuple[str, bool]] = []
    position = words[best].start()
    if best:
        pieces.append(("… ", False))
    for match, hit in zip(words[best:end], hits[best:end], strict=True):
        pieces.append((text[position : match.start()], False))
        pieces.append((match.group(), hit))
        position = match.end()
    if end < len(words):
        pieces.append((" …", False))
    else:
        pieces.append((text[position:], False))
    return pieces
