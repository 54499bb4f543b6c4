"""What every file of the store holds, as far as the feeds need it, kept in step with the index.

A file's parse result is taken from the SQLite index when its size and mtime
match the row there (another worker, or an earlier start, parsed it), else the
file is read and the row written back. When many files need parsing (a first
start), workers take turns so only one parses them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from .images import ImageError, sniff_photo
from .index import ArticleIndex, ArticleRow, PhotoRow
from .model import Article, Entry, FileStat, Photo, Problem, default_slug
from .scan import UNREADABLE
from .search import document

log = logging.getLogger("feeds.store")

PACKAGED_DEFAULT_PHOTO = Path(__file__).parent / "static" / "default.jpg"
_SHARED_PARSE_THRESHOLD = 64  # above this many files to parse, workers take turns
_PROGRESS_EVERY = 5000
_SAVE_EVERY = 2000

@functools.cache
def packaged_default() -> Photo:
    """The default image that ships with the service, for stores without _default.<ext>."""
    path = str(PACKAGED_DEFAULT_PHOTO)
    info = os.stat(path)
    return sniff_photo(path, info.st_size, info.st_mtime_ns)


class Reading(NamedTuple):
    """One text file read: the article, or why not; None for both when it changed mid-read."""

    article: Article | None
    problem: Problem | None
    warning: str | None = None
    passing: bool = False  # the problem is the file's absence: shown once, never saved


def row_of(rel: str, st: FileStat, reading: Reading) -> ArticleRow:
    article, problem = reading.article, reading.problem
    if article is not None:
        return ArticleRow(rel, st.size, st.mtime_ns, article.id, article.rubric,
                          article.published.timestamp(), article.title, None, None,
                          reading.warning)
    assert problem is not None
    return ArticleRow(rel, st.size, st.mtime_ns, None, None, None, None, problem.line,
                      problem.reason, None)


def entry_of(row: ArticleRow, display: Callable[[str], str]) -> Entry | Problem:
    if row.reason is not None:
        return Problem(display(row.path), row.reason, row.line)
    assert row.id is not None and row.rubric is not None and row.published is not None
    rubric = sys.intern(row.rubric)
    return Entry(row.id, row.path, rubric, slug_of(rubric), row.published,
                 FileStat(row.size, row.mtime))


@functools.lru_cache(maxsize=256)
def slug_of(rubric: str) -> str:
    return default_slug(rubric)


class Catalog:
    """Parse results by file path, and the rows to write back to the index."""

    def __init__(self, index: ArticleIndex, read: Callable[[str, FileStat], Reading],
                 display: Callable[[str], str], absolute: Callable[[str], str]) -> None:
        self.index = index
        self.read = read
        self.display = display
        self.absolute = absolute
        self.texts: dict[str, Entry | Problem] = {}
        self.warnings: dict[str, Problem] = {}
        self.photos: dict[str, dict[str, Photo | Problem]] = {}  # by stem, then path
        self.unread: set[str] = set()  # files that changed while read: tried again
        self.unreadable: set[str] = set()  # could not be opened: tried again once they open
        self.retry: set[str] = set()  # to be read again whatever the index says
        self.passing: list[Problem] = []  # files that vanished while read, for one snapshot
        self._rejected: dict[str, FileStat] = {}  # while loading: stats of rejected files
        self.rows: list[ArticleRow] = []  # to write back, with the photo rows
        self.documents: dict[str, tuple[str, str, str]] = {}  # search columns of new rows
        self.photo_rows: list[PhotoRow] = []

    # -- text files -------------------------------------------------------------

    def take(self, row: ArticleRow) -> None:
        rel = row.path
        self.texts[rel] = entry_of(row, self.display)
        if row.reason is not None and row.reason.startswith(UNREADABLE):
            self.unreadable.add(rel)
        elif self.unreadable:
            self.unreadable.discard(rel)
        if row.warning:
            self.warnings[rel] = Problem(self.display(rel), row.warning, fatal=False)
        elif self.warnings:
            self.warnings.pop(rel, None)

    def load(self) -> None:
        """Take every row of the index, as a first start does, noting rejected files' stats.

        A start makes an entry of every article at once: those of files published as
        they are (nearly all) are made in one tight loop over plain tuples.
        """
        texts = self.texts
        named: dict[str, tuple[str, str]] = {}  # rubric -> (the one copy kept, its slug)
        for path, size, mtime, article_id, rubric, published in self.index.published_rows():
            kept = named.get(rubric)
            if kept is None:
                kept = named[rubric] = (sys.intern(rubric), slug_of(rubric))
            texts[path] = Entry(article_id, path, *kept, published, FileStat(size, mtime))
        for row in self.index.other_rows():
            self.take(row)
            if row.reason is not None:
                self._rejected[row.path] = FileStat(row.size, row.mtime)

    def known(self, rel: str) -> tuple[str, FileStat] | None:
        """A text file's path and the stat its result was made from, if there is one."""
        result = self.texts.get(rel)
        if isinstance(result, Entry):
            return result.path, result.stat
        st = self._rejected.get(rel)
        return None if st is None else (rel, st)

    def loaded(self) -> None:
        self._rejected.clear()

    def forget_text(self, rel: str) -> None:
        self.texts.pop(rel, None)
        self.warnings.pop(rel, None)
        self.unread.discard(rel)
        self.unreadable.discard(rel)

    def _take_cached(self, wanted: Mapping[str, FileStat],
                     cached: Mapping[str, ArticleRow]) -> dict[str, FileStat]:
        """Use rows that match the file's size and mtime; return the files left to parse."""
        misses = {}
        for rel, st in wanted.items():
            row = cached.get(rel)
            if (row is not None and row.size == st.size and row.mtime == st.mtime_ns
                    and rel not in self.retry):
                self.take(row)
            else:
                misses[rel] = st
        return misses

    def update_texts(self, wanted: Mapping[str, FileStat],
                     cached: Mapping[str, ArticleRow] | None = None) -> None:
        """Results for these files, from the index or by parsing them."""
        if cached is None:
            cached = self.index.articles(list(wanted)) if wanted else {}
        misses = self._take_cached(wanted, cached)
        if len(misses) <= _SHARED_PARSE_THRESHOLD:
            self._parse(misses)
            return
        with self.index.exclusive():
            # Another worker may have parsed them while we waited for the lock.
            misses = self._take_cached(misses, self.index.articles(list(misses)))
            self._parse(misses)

    def _parse(self, misses: Mapping[str, FileStat]) -> None:
        started = time.monotonic()
        show_progress = len(misses) >= _PROGRESS_EVERY
        for done, (rel, st) in enumerate(misses.items(), 1):
            reading = self.read(rel, st)
            if reading.passing and reading.problem is not None:
                self.forget_text(rel)  # the next scan sees it gone
                self.passing.append(reading.problem)
                log.warning("%s", reading.problem)
                continue
            if reading.article is None and reading.problem is None:
                self.forget_text(rel)
                self.unread.add(rel)  # not seen: the next scan tries again
                continue
            self.unread.discard(rel)
            row = row_of(rel, st, reading)
            self.rows.append(row)
            if reading.article is not None:
                article = reading.article
                self.documents[rel] = document(article.title, article.paragraphs,
                                               article.rubric)
            before = self.texts.get(rel)
            self.take(row)
            if reading.problem is not None and reading.problem != before:
                log.warning("%s", reading.problem)
            elif row.warning:
                log.warning("%s: %s", self.display(rel), row.warning)
            if len(self.rows) >= _SAVE_EVERY:
                self.index.save_articles(self.rows, self.documents)
                self.rows, self.documents = [], {}
            if show_progress and (done % _PROGRESS_EVERY == 0 or done == len(misses)):
                rate = done / max(time.monotonic() - started, 1e-6)
                print(f"indexing {self.display('')}: {done}/{len(misses)} articles"
                      f" ({rate:.0f}/s)", file=sys.stderr, flush=True)

    # -- photos -----------------------------------------------------------------

    def update_photo(self, rel: str, st: FileStat | None, cached: PhotoRow | None) -> None:
        stem = os.path.splitext(rel)[0]
        if st is None:
            found = self.photos.get(stem, {})
            found.pop(rel, None)
            if not found:
                self.photos.pop(stem, None)
            return
        row = cached
        if row is None or row.size != st.size or row.mtime != st.mtime_ns:
            try:
                photo = sniff_photo(self.absolute(rel), st.size, st.mtime_ns)
                row = PhotoRow(rel, st.size, st.mtime_ns, photo.mime_type, photo.width,
                               photo.height, None)
            except ImageError as exc:
                row = PhotoRow(rel, st.size, st.mtime_ns, None, None, None, str(exc))
            self.photo_rows.append(row)
        result: Photo | Problem
        if row.reason is not None or row.mime is None:
            result = Problem(self.display(rel), row.reason or "not an image", fatal=False)
        else:
            result = Photo(self.absolute(rel), st.size, row.mime, row.width, row.height,
                           st.mtime_ns)
        self.photos.setdefault(stem, {})[rel] = result

    def retry_unreadable(self, wanted: dict[str, FileStat],
                         stat_of: Callable[[str], FileStat | None]) -> None:
        """Files that could not be read count as changed once they open (chmod keeps mtime)."""
        for rel in self.unreadable - wanted.keys():
            st = stat_of(rel)
            if st is None:
                continue
            with contextlib.suppress(OSError):
                os.close(os.open(self.absolute(rel), os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY))
                wanted[rel] = st
                self.retry.add(rel)

    def take_rows(self) -> tuple[list[ArticleRow], dict[str, tuple[str, str, str]],
                                 list[PhotoRow]]:
        """The rows parsed since the last call (with search documents), to be written."""
        taken = self.rows, self.documents, self.photo_rows
        self.rows, self.documents, self.photo_rows = [], {}, []
        return taken
