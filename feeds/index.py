"""The index: one SQLite file per store, shared by every worker and restart.

It remembers what parsing each file gave, so unchanged files are never parsed twice,
and each folder's listing as of its mtime, so a start stats folders, not files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from .names import db_key, from_db_key

log = logging.getLogger("feeds.index")

# Bump when parsing rules change, so cached parse results are thrown away.
INDEX_VERSION = 4
# Search row ids: published second * ROWID_SLOTS + a free slot within that second.
ROWID_SLOTS = 1_000_000

# The full-text index of every parsed article (see search.py): a row id that sorts
# by publish time, and a table from file path to that row id.
_SEARCH_TABLES = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(title, body, tags,"
    " tokenize='unicode61 remove_diacritics 0')",
    "CREATE TABLE IF NOT EXISTS search_docs (path TEXT PRIMARY KEY, docid INTEGER UNIQUE)",
)
# Every word of three letters or more the search table has seen in a title or body,
# so a search turns a stem into the words it stands for (search.py). Words only ever
# join it: one whose articles all went matches nothing, which costs a lookup.
_TERMS_TABLE = "CREATE TABLE search_terms (term TEXT PRIMARY KEY) WITHOUT ROWID"
# The words of a batch of documents are cut by FTS5's own tokenizer, so the table
# holds exactly the words the search table does (a tokenizer of ours would differ on
# stress marks, İ and the like): each distinct space-separated piece of the batch
# goes once into an empty contentless table, whose vocabulary is then read.
_BATCH_TABLES = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_batch USING fts5(words, content='',"
    " detail=none, tokenize='unicode61 remove_diacritics 0')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_batch_words"
    " USING fts5vocab(temp, search_batch, row)",
)

# Every path whose article or photo row was written or deleted, in order: a start from
# a saved state (resume.py) lists again the folders of the paths changed since it was
# saved. Triggers write it, so a row written by any process or version is in it.
_CHANGE_LOG = (
    "CREATE TABLE IF NOT EXISTS changed (seq INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT)",
    *(f"CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()} AFTER {event} ON {table}"
      f" BEGIN INSERT INTO changed (path) VALUES ({row}.path); END"
      for table in ("articles", "photos")
      for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))),
)
_CHANGE_LOG_KEPT = 100_000  # entries; a state saved further back is not resumed from

# Rows of files published as they are: no reason, no warning, a UTF-8 name (db_key).
_AS_IT_IS = "reason IS NULL AND warning IS NULL AND substr(path, 1, 1) != '/'"
# Only these mean the file itself is bad; a full disk, a read-only folder or an I/O
# error says nothing about the file, which is then left alone.
_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
# A process whose index went to memory tries the file again after this many seconds,
# twice as long after each failed try, up to _RETRY_MAX: back soon after a disk is
# freed, and a lasting failure costs one open every few minutes.
_RETRY_FIRST = 5.0
_RETRY_MAX = 300.0
_CARRY_BATCH = 500  # rows per transaction when the memory's rows go to the file


def damaged(exc: sqlite3.Error) -> bool:
    """Whether SQLite says the file is not a sound database (rather than the disk failing)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # raised by the sqlite3 module itself: a closed or misused handle
        return False
    return code & 0xFF in _DAMAGED


class ArticleRow(NamedTuple):
    """One text file as the index remembers it: parsed fields, or why it failed."""

    path: str
    size: int
    mtime: int  # nanoseconds
    id: str | None
    rubric: str | None
    published: float | None  # Unix time
    title: str | None
    line: int | None
    reason: str | None  # set when the file was rejected
    warning: str | None  # set when it was read with a warning


class PhotoRow(NamedTuple):
    """One image file as the index remembers it."""

    path: str
    size: int
    mtime: int  # nanoseconds
    mime: str | None
    width: int | None
    height: int | None
    reason: str | None  # set when the image was rejected


class FolderRow(NamedTuple):
    """A folder's listing as of its mtime: file names, and subfolder names ending in '/'."""

    path: str
    mtime: int  # nanoseconds; 0: not to be trusted, list it again
    names: str  # one a line


Row = TypeVar("Row", ArticleRow, PhotoRow, FolderRow)


class ArticleIndex:
    """The SQLite file that remembers parse results across workers and restarts."""

    def __init__(self, path: Path | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.file = path  # where the index belongs
        self.path: Path | None = None  # the file in use; None while the index is in memory
        self.problem: str | None = None  # why the file is not in use, while it is not
        self.returns = 0  # times this process came back to the file from memory
        self._clock = clock
        self._retry_wait = _RETRY_FIRST
        self._retry_at = 0.0
        self._lock_warned = False
        self.db = self._open()

    @property
    def where(self) -> str:
        """"file" or "memory": where this process keeps its index now."""
        return "memory" if self.path is None else "file"

    def _open(self) -> sqlite3.Connection:
        if self.file is None:
            return self._connect(":memory:")
        try:
            db = self._open_file()
        except (sqlite3.Error, OSError) as exc:
            return self._in_memory(exc)
        self._on_file()
        return db

    def _on_file(self) -> None:
        if self.problem is not None:
            log.info("index %s can be used again; this process is back on it", self.file)
            self.returns += 1
        self.path, self.problem = self.file, None

    def _open_file(self) -> sqlite3.Connection:
        """The index file, made when missing and rebuilt when damaged; raises when the
        disk or folder fails, which says nothing about the file."""
        assert self.file is not None
        self.file.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect(str(self.file))
        except sqlite3.Error as exc:
            if not damaged(exc):
                raise
            log.warning("index %s is unreadable (%s); rebuilding it", self.file, exc)
        self._remove_files()
        return self._connect(str(self.file))

    def _in_memory(self, exc: Exception) -> sqlite3.Connection:
        """Go on without the file (full disk, read-only folder): this process parses alone,
        and tries the file again now and then (_retry_file)."""
        if self.problem is None:
            log.warning("index %s cannot be used (%s); this process keeps its index in memory"
                        " and tries the file again now and then; the file is left as it is",
                        self.file, exc)
        self.problem = str(exc) or type(exc).__name__
        self.path = None
        self._retry_wait = _RETRY_FIRST
        self._retry_at = self._clock() + self._retry_wait
        return self._connect(":memory:")

    def _retry_file(self) -> None:
        """Back on the file once it can be used, what this process indexed meanwhile
        written to it first; a failed try only sets the next one further off."""
        if self.path is not None or self.file is None or self._clock() < self._retry_at:
            return
        memory = self.db
        try:
            self.db = self._open_file()
            self._carry_over(memory)
        except (sqlite3.Error, OSError) as exc:
            # Neither connection is closed here: a search may be reading through it.
            self.db = memory
            self._retry_wait = min(2 * self._retry_wait, _RETRY_MAX)
            self._retry_at = self._clock() + self._retry_wait
            log.debug("index %s still cannot be used (%s); next try in %.0f s",
                      self.file, exc, self._retry_wait)
            return
        self._on_file()

    def _carry_over(self, memory: sqlite3.Connection) -> None:
        """The rows, search documents and listings kept in memory, written to the file
        (self.db) as scans write them: in batches, every folder listing after the rows of
        its files, so a listing the next start trusts always has them. Rows of this
        process win over the file's: they are what it saw last."""
        for rows in _batches(memory, "articles", ArticleRow):
            keys = [db_key(row.path) for row in rows]
            found = memory.execute(
                "SELECT d.path, s.title, s.body, s.tags FROM search_docs AS d JOIN search AS s"
                f" ON s.rowid = d.docid WHERE d.path IN ({','.join('?' * len(keys))})", keys)
            documents = {from_db_key(key): (title, body, tags)
                         for key, title, body, tags in found}
            self._save(rows, documents, [], [], [], [])
        for photos in _batches(memory, "photos", PhotoRow):
            self._save([], {}, photos, [], [], [])
        for folders in _batches(memory, "folders", FolderRow):
            self._save([], {}, [], [], folders, [])

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(f"{self.file}{suffix}")

    @staticmethod
    def _connect(target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, timeout=30, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA busy_timeout=30000")
        if target != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        stored = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        if stored != (str(INDEX_VERSION),):
            db.execute("DROP TABLE IF EXISTS articles")
            db.execute("DROP TABLE IF EXISTS photos")
            db.execute("DROP TABLE IF EXISTS search")
            db.execute("DROP TABLE IF EXISTS search_docs")
            db.execute("DROP TABLE IF EXISTS search_terms")
            db.execute("DROP TABLE IF EXISTS folders")
            db.execute("DROP TABLE IF EXISTS changed")
            db.execute("DELETE FROM meta WHERE key='identity'")
        db.execute(
            "CREATE TABLE IF NOT EXISTS articles (path TEXT PRIMARY KEY, size INT, mtime INT,"
            " id TEXT, rubric TEXT, published REAL, title TEXT,"
            " line INT, reason TEXT, warning TEXT)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS photos (path TEXT PRIMARY KEY, size INT, mtime INT,"
            " mime TEXT, width INT, height INT, reason TEXT)"
        )
        db.execute("CREATE TABLE IF NOT EXISTS folders (path TEXT PRIMARY KEY, mtime INT,"
                   " names TEXT)")
        for sql in _SEARCH_TABLES:
            db.execute(sql)
        _add_terms_table(db)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (str(INDEX_VERSION),))
        for sql in _CHANGE_LOG:
            db.execute(sql)
        # Names this file's rows: a saved start state (resume.py) fits this file only.
        db.execute("INSERT OR IGNORE INTO meta VALUES ('identity', lower(hex(randomblob(8))))")
        # Reading every table once proves the file is a sound database.
        db.execute("SELECT count(*) FROM articles").fetchone()
        db.execute("SELECT count(*) FROM search_docs").fetchone()
        return db

    def _guard(self, action: Callable[[], Any]) -> Any:
        """Run action; a damaged file is rebuilt, a failing disk leaves it for memory."""
        self._retry_file()
        try:
            return action()
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            if self.path is None or not damaged(exc):
                self.db = self._in_memory(exc)
            else:
                log.warning("index %s failed (%s); rebuilding it", self.path, exc)
                self._remove_files()
                self.db = self._open()
            return action()

    def published_rows(self) -> Iterator[tuple[str, int, int, str, str, float]]:
        """(path, size, mtime, id, rubric, published) of every file published as
        it is: most rows, which a start turns into entries, read as plain tuples one at
        a time (no list of them all is held)."""
        return self._guard(lambda: self.db.execute(
            f"SELECT path, size, mtime, id, rubric, published FROM articles WHERE {_AS_IT_IS}"))

    def other_rows(self) -> Iterator[ArticleRow]:
        """Every other row: rejected files, files read with a warning, names not UTF-8."""
        cursor = self._guard(lambda: self.db.execute(
            f"SELECT * FROM articles WHERE NOT ({_AS_IT_IS})"))
        for row in map(ArticleRow._make, cursor):
            yield row._replace(path=from_db_key(row.path)) if row.path.startswith("/") else row

    def all_articles(self) -> dict[str, ArticleRow]:
        rows = self._guard(lambda: self.db.execute("SELECT * FROM articles").fetchall())
        return _by_path(rows, ArticleRow)

    def all_photos(self) -> dict[str, PhotoRow]:
        rows = self._guard(lambda: self.db.execute("SELECT * FROM photos").fetchall())
        return _by_path(rows, PhotoRow)

    def articles(self, paths: Sequence[str]) -> dict[str, ArticleRow]:
        return _by_path(self._of_paths("SELECT * FROM articles", paths), ArticleRow)

    def titles(self, paths: Sequence[str]) -> dict[str, str]:
        """The titles of these files' articles, where the index has them."""
        rows = self._of_paths("SELECT path, title FROM articles", paths)
        return {from_db_key(key): title for key, title in rows if title is not None}

    def _of_paths(self, select: str, paths: Sequence[str]) -> list[tuple]:
        """The rows of select (a table's path column first) for these paths, in batches
        SQLite's limit on bound values allows."""
        found: list[tuple] = []
        for start in range(0, len(paths), 500):
            chunk = [db_key(path) for path in paths[start : start + 500]]
            query = f"{select} WHERE path IN ({','.join('?' * len(chunk))})"
            found += self._guard(partial(self._fetch, query, chunk))
        return found

    def all_folders(self) -> dict[str, FolderRow]:
        rows = self._guard(lambda: self.db.execute(
            "SELECT path, mtime, names FROM folders").fetchall())
        return _by_path(rows, FolderRow)

    def photo(self, path: str) -> PhotoRow | None:
        query = "SELECT * FROM photos WHERE path=?"
        return _by_path(self._guard(partial(self._fetch, query, [db_key(path)])),
                        PhotoRow).get(path)

    def _fetch(self, query: str, params: list[str]) -> list[tuple]:
        return self.db.execute(query, params).fetchall()

    def save_articles(self, rows: list[ArticleRow],
                      documents: Mapping[str, tuple[str, str, str]] | None = None) -> None:
        """Store parse rows; documents (path -> search columns) replace those files'
        search rows in the same transaction, and a path without one leaves search."""
        if rows:
            self._guard(lambda: self._save_articles(rows, documents or {}))

    def _save_articles(self, rows: list[ArticleRow],
                       documents: Mapping[str, tuple[str, str, str]]) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self._put_articles(rows, documents)

    def _put_articles(self, rows: list[ArticleRow],
                      documents: Mapping[str, tuple[str, str, str]]) -> None:
        """Rows and their search documents, inside the caller's transaction."""
        keyed = [row._replace(path=db_key(row.path)) for row in rows]
        self.db.executemany("INSERT OR REPLACE INTO articles VALUES (?,?,?,?,?,?,?,?,?,?)",
                            keyed)
        self._unindex([row.path for row in keyed])
        added = []
        for row, key in zip(rows, keyed, strict=True):
            columns = documents.get(row.path)
            if columns is not None and row.published is not None:
                self._add_document(key.path, row.published, columns)
                added.append(columns)
        self._add_terms(added)

    def _add_terms(self, documents: Sequence[tuple[str, str, str]]) -> None:
        """The words of these documents' titles and bodies join the word table."""
        if not documents:
            return
        pieces: set[str] = set()
        for title, body, _tags in documents:
            pieces.update(title.split())
            pieces.update(body.split())
        for sql in _BATCH_TABLES:
            self.db.execute(sql)
        self.db.execute("INSERT INTO temp.search_batch VALUES (?)", (" ".join(pieces),))
        self.db.execute("INSERT OR IGNORE INTO search_terms SELECT term"
                        " FROM temp.search_batch_words WHERE length(term) >= 3")
        self.db.execute("INSERT INTO temp.search_batch(search_batch) VALUES ('delete-all')")

    def _add_document(self, path: str, published: float, columns: tuple[str, str, str]) -> None:
        base = int(published) * ROWID_SLOTS
        top = self.db.execute("SELECT max(docid) FROM search_docs WHERE docid BETWEEN ? AND ?",
                              (base, base + ROWID_SLOTS - 1)).fetchone()[0]
        docid = base if top is None else top + 1
        if docid >= base + ROWID_SLOTS:
            log.warning("%s: over %d articles in one second; not searchable", path, ROWID_SLOTS)
            return
        self.db.execute("INSERT INTO search_docs VALUES (?, ?)", (path, docid))
        self.db.execute("INSERT INTO search (rowid, title, body, tags) VALUES (?, ?, ?, ?)",
                        (docid, *columns))

    def _unindex(self, paths: Sequence[str]) -> None:
        for path in paths:
            found = self.db.execute("SELECT docid FROM search_docs WHERE path=?",
                                    (path,)).fetchone()
            if found is not None:
                self.db.execute("DELETE FROM search WHERE rowid=?", found)
                self.db.execute("DELETE FROM search_docs WHERE path=?", (path,))

    def save_photos(self, rows: list[PhotoRow]) -> None:
        if rows:
            self._guard(lambda: self._write("INSERT OR REPLACE INTO photos VALUES (?,?,?,?,?,?,?)",
                                            rows))

    def _write(self, sql: str, rows: Sequence[ArticleRow | PhotoRow]) -> None:
        keyed = [row._replace(path=db_key(row.path)) for row in rows]
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(sql, keyed)

    def save(self, articles: list[ArticleRow], documents: Mapping[str, tuple[str, str, str]],
             photos: list[PhotoRow], gone: Sequence[str], folders: Sequence[FolderRow],
             gone_folders: Sequence[str]) -> None:
        """What one scan found, in one transaction: a crash leaves the index as it was.

        A folder's listing is written with (or after) the rows of its files, so a
        listing that the next start trusts always has them.
        """
        self._retry_file()  # every scan saves: a quiet store also gets back to its file
        if articles or photos or gone or folders or gone_folders:
            self._guard(lambda: self._save(articles, documents, photos, gone, folders,
                                           gone_folders))

    def _save(self, articles: list[ArticleRow], documents: Mapping[str, tuple[str, str, str]],
              photos: list[PhotoRow], gone: Sequence[str], folders: Sequence[FolderRow],
              gone_folders: Sequence[str]) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if articles:
                self._put_articles(articles, documents)
            for table, rows in (("photos", photos), ("folders", folders)):
                if not rows:
                    continue
                marks = ",".join("?" * len(rows[0]))
                self.db.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})",
                                    [row._replace(path=db_key(row.path)) for row in rows])
            keys = [db_key(path) for path in gone]
            for table in ("articles", "photos"):
                self.db.executemany(f"DELETE FROM {table} WHERE path=?", [(k,) for k in keys])
            self._unindex(keys)
            self.db.executemany("DELETE FROM folders WHERE path=?",
                                [(db_key(path),) for path in gone_folders])
            self.db.execute("DELETE FROM changed WHERE seq <= (SELECT max(seq) FROM changed)"
                            " - ?", (_CHANGE_LOG_KEPT,))

    def change_mark(self) -> tuple[str, int] | None:
        """(identity of this file, last entry of its change log); None in memory."""
        if self.path is None:
            return None
        return self._guard(self._change_mark)

    def _change_mark(self) -> tuple[str, int]:
        identity = self.db.execute("SELECT value FROM meta WHERE key='identity'").fetchone()
        last = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name='changed'").fetchone()
        return identity[0], last[0] if last else 0

    def changed_since(self, mark: tuple[str, int]) -> tuple[int, list[str]] | None:
        """(last entry, paths changed after mark), or None when the log no longer reaches
        back to mark or this is another file."""
        if self.path is None:
            return None
        return self._guard(partial(self._changed_since, mark))

    def _changed_since(self, mark: tuple[str, int]) -> tuple[int, list[str]] | None:
        with self.db:
            self.db.execute("BEGIN")  # one view of the log and its counter
            identity, last = self._change_mark()
            first = self.db.execute("SELECT min(seq) FROM changed").fetchone()[0]
            if identity != mark[0] or last < mark[1] or (
                    last > mark[1] and (first is None or first > mark[1] + 1)):
                return None
            paths = self.db.execute("SELECT DISTINCT path FROM changed WHERE seq > ?",
                                    (mark[1],)).fetchall()
        return last, [from_db_key(path) for path, in paths]

    def rows_of(self, paths: Sequence[str]) -> tuple[dict[str, ArticleRow],
                                                     dict[str, PhotoRow]]:
        """The article and photo rows of these paths, where there are any."""
        return (self.articles(paths),
                _by_path(self._of_paths("SELECT * FROM photos", paths), PhotoRow))

    def forget_changes(self, upto: int) -> None:
        """Drop the change log up to this entry: no saved state goes back further."""
        if self.path is not None:
            self._guard(lambda: self.db.execute("DELETE FROM changed WHERE seq <= ?", (upto,)))

    def close(self) -> None:
        """Close the connection; an index kept in memory tries its file a last time
        first (before a fork, at a stop), so what it holds is not lost with it."""
        if self.path is None and self.file is not None:
            self._retry_at = 0.0
            self._retry_file()
        self.db.close()

    def reopen(self) -> None:
        """A new connection after close(), as after a fork: the file stays, rows stay."""
        self.db = self._open()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the parse lock so only one worker parses a large batch."""
        try:
            lock = None if self.path is None else open(f"{self.path}.lock", "a")  # noqa: SIM115
        except OSError as exc:  # a full disk, a folder in its place: parse without turns
            if not self._lock_warned:
                log.warning("index lock %s.lock cannot be opened (%s); workers parse"
                            " without taking turns", self.path, exc)
                self._lock_warned = True
            lock = None
        if lock is None:
            yield
            return
        if self._lock_warned:
            log.info("index lock %s.lock can be opened again", self.path)
            self._lock_warned = False
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _add_terms_table(db: sqlite3.Connection) -> None:
    """The word table, made once, with the words of an index file written before it
    (taken from FTS5's own vocabulary, so exactly the words it holds)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name='search_terms'").fetchone():
        return
    with db:
        db.execute("BEGIN IMMEDIATE")
        if db.execute("SELECT 1 FROM sqlite_master WHERE name='search_terms'").fetchone():
            return  # another worker made it meanwhile
        db.execute(_TERMS_TABLE)
        db.execute("CREATE VIRTUAL TABLE temp.search_vocab USING fts5vocab(main, search, col)")
        db.execute("INSERT OR IGNORE INTO search_terms SELECT term FROM temp.search_vocab"
                   " WHERE col != 'tags' AND length(term) >= 3")
        db.execute("DROP TABLE temp.search_vocab")


def _by_path(rows: list[tuple], make: type[Row]) -> dict[str, Row]:
    """Named rows by their file's path, the SQLite key turned back into the path."""
    named = list(map(make._make, rows))  # in C: a first start reads every row
    found = {row.path: row for row in named}
    for key in [key for key in found if key.startswith("/")]:  # names that are not UTF-8
        row = found.pop(key)
        path = from_db_key(key)
        found[path] = row._replace(path=path)
    return found


def _batches(db: sqlite3.Connection, table: str, make: type[Row]) -> Iterator[list[Row]]:
    """Every row of one of our tables, a batch at a time."""
    cursor = db.execute(f"SELECT * FROM {table}")  # one of our own table names
    while batch := cursor.fetchmany(_CARRY_BATCH):
        yield list(_by_path(batch, make).values())


def index_file_for(cache_dir: Path, content_dir: Path) -> Path:
    """One index file per store folder, so two stores never share one."""
    digest = hashlib.sha1(os.fsencode(os.path.realpath(content_dir))).hexdigest()[:12]
    return cache_dir / f"index-{digest}.sqlite3"
