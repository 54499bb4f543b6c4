"""A start from the state the last scans left, saved beside the index.

Every worker's first scan used to read every row of the index and make every entry
and listing again: 0.6-1 s of CPU at 100,000 articles, in each worker. Now and then
one process saves what its scans hold (every folder's listing and file stats, every
parse result) as plain columns (marshal); a start loads that in a fraction of the
time, then scans as every later scan does: folders whose mtime moved are listed
again, and so are the folders of the paths the index's change log names since the
save (rows another process wrote: edits in place leave a folder's mtime alone).

The file is a cache. Another format, another index file, a log that no longer
reaches back, a torn or damaged file: the start reads the index as before. A
process saves only a state it has checked against every row changed since its own
state was last known to match the index, so what a start resumes from is what a
full read of the index would give.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import marshal
import os
import sys
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

from .catalog import Catalog, slug_of
from .index import INDEX_VERSION, ArticleIndex, ArticleRow, PhotoRow
from .locks import take_lock
from .model import Entry, FileStat, Photo, Problem
from .scan import Folder, Scanner

log = logging.getLogger("feeds.store")

_FORMAT = 5
# Seconds between saves while the store changes: a start from an older state only
# lists again the folders changed since, so saving is rare, and costs one worker a
# fraction of a second (0.3 s of CPU at 100,000 articles) every few minutes at most.
_SAVE_EVERY = 300.0
_BUSY_RETRY = 5.0  # another process was saving: look again this much later
_FIRST_SAVE_AFTER = 2.0  # seconds after a start: its first answers come first

Mark = tuple[str, int]  # (identity of the index file, last entry of its change log)


def _signature(root: str, display_root: str) -> str:
    """What the saved columns depend on: a change of any makes the file useless."""
    shapes = [Entry._fields, FileStat._fields, Photo._fields,
              *([f.name for f in dataclasses.fields(kind)] for kind in (Folder, Problem))]
    return json.dumps([_FORMAT, INDEX_VERSION, list(sys.version_info[:2]), shapes, root,
                       display_root])


def _problem(problem: Problem) -> tuple[str, str, int | None, bool]:
    return problem.path, problem.reason, problem.line, problem.fatal


class SavedState:
    """The file a start resumes from, and when this process saves it again."""

    def __init__(self, path: Path, root: str, display_root: str) -> None:
        self.path = path
        self.signature = _signature(root, display_root)
        self.baseline: Mark | None = None  # our state matches every index row up to here
        self.dirty = False  # changed since the last save
        self._next_try = 0.0

    # -- loading ---------------------------------------------------------------

    def load(self, index: ArticleIndex, scanner: Scanner, catalog: Catalog) -> bool:
        """Fill scanner and catalog from the file; False (both untouched) when it cannot
        be used. The folders of paths changed since the save are marked to be listed."""
        try:
            with open(self.path, "rb") as file:
                header, columns = self._read(file.read())
            since = index.changed_since((header["identity"], header["seq"]))
            if since is None:
                raise ValueError("the index changed too much since, or is another one")
            listed = _folders(columns)
            _fill_catalog(catalog, columns, listed)
        except FileNotFoundError:
            return False
        except (OSError, ValueError, EOFError, TypeError, KeyError, IndexError,
                AttributeError) as exc:
            log.info("saved state %s not used (%s); reading the index", self.path, exc)
            return False
        last, paths = since
        for rel in paths:
            folder = listed.folders.get(rel.rpartition("/")[0])
            if folder is not None:
                folder.mtime_ns = 0  # listed again by the first scan
        scanner.defaults = listed.defaults
        scanner.seed(listed.folders, listed.recent)
        self.baseline = (header["identity"], last)
        self.dirty = bool(paths)  # a start from an older state costs little: no hurry
        self._next_try = time.monotonic() + _SAVE_EVERY
        return True

    def _read(self, data: bytes) -> tuple[dict, dict]:
        size = int.from_bytes(data[:4], "big")
        header = json.loads(data[4 : 4 + size])
        payload = memoryview(data)[4 + size :]
        if header.get("signature") != self.signature:
            raise ValueError("saved by another version")
        if len(payload) != header["bytes"] or zlib.crc32(payload) != header["crc"]:
            raise ValueError("torn or damaged file")
        return header, marshal.loads(payload)

    def _header(self) -> dict | None:
        """The header of a whole file of this version (a shorter file, as a power cut
        may leave, counts as none: it is written again)."""
        with contextlib.suppress(OSError, ValueError, AttributeError, KeyError, TypeError), \
                open(self.path, "rb") as file:
            size = int.from_bytes(file.read(4), "big")
            header = json.loads(file.read(size))
            whole = os.fstat(file.fileno()).st_size == 4 + size + header["bytes"]
            if header.get("signature") == self.signature and whole:
                return dict(header)
        return None

    # -- saving ------------------------------------------------------------------

    def started_from_index(self, mark: Mark | None) -> None:
        """A start read every row up to mark: save soon, so the next start need not."""
        self.baseline, self.dirty = mark, True
        self._next_try = time.monotonic() + _FIRST_SAVE_AFTER

    def maybe_save(self, index: ArticleIndex, scanner: Scanner, catalog: Catalog,
                   settled: bool) -> None:
        """Save when due: the state changed, it is whole (no file waiting), it still
        matches every index row written since our baseline, and the file is older."""
        now = time.monotonic()
        if not self.dirty or now < self._next_try or not settled or self.baseline is None:
            return
        if catalog.unread or catalog.retry or catalog.passing:
            return
        self._next_try = now + _SAVE_EVERY
        mark = _checked_mark(index, scanner, self.baseline)
        if mark is None:
            return
        self.baseline = mark
        old = self._header()
        if old is not None and (old["identity"], old["seq"]) == mark:
            self.dirty = False  # another worker saved this very state
            return
        columns = _columns(scanner, catalog)
        if columns is not None:
            self._write(index, columns)

    def _write(self, index: ArticleIndex, columns: dict) -> None:
        assert self.baseline is not None
        identity, seq = self.baseline
        try:
            lock = take_lock(f"{self.path}.lock")
        except OSError:  # the cache folder fails: the index says so already
            return
        if lock is None:  # another worker is saving
            self._next_try = time.monotonic() + _BUSY_RETRY
            return
        with lock:
            old = self._header()
            if old is not None and old["identity"] == identity and old["seq"] >= seq:
                self.dirty = False
                return
            # Version 2: no table of every object written (tens of MB at 100,000
            # articles, kept by the allocator afterwards); nothing in it is repeated.
            payload = marshal.dumps(columns, 2)
            header = json.dumps({"signature": self.signature, "identity": identity, "seq": seq,
                                 "bytes": len(payload), "crc": zlib.crc32(payload)}).encode()
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            try:
                with open(temporary, "wb") as file:
                    file.write(len(header).to_bytes(4, "big"))
                    file.write(header)
                    file.write(payload)
                    file.flush()
                    os.fsync(file.fileno())  # whole on disk before it replaces the old one
                os.replace(temporary, self.path)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                log.info("saved state %s not written (%s); starts read the index", self.path,
                         exc)
                return
            self.dirty = False
            if old is not None and old["identity"] == identity:
                index.forget_changes(old["seq"])  # a start from the file replaced needs no more


def _checked_mark(index: ArticleIndex, scanner: Scanner, baseline: Mark) -> Mark | None:
    """The index's mark now, if our listings hold every file whose row was written since
    baseline as that row does (every file, once the log no longer reaches back)."""
    since = index.changed_since(baseline)
    if since is not None:
        last, paths = since
        articles, photos = index.rows_of(paths)
        return (baseline[0], last) if _matches(scanner, paths, articles, photos) else None
    mark = index.change_mark()
    if mark is None:
        return None
    articles, photos = index.all_articles(), index.all_photos()
    ours = {rel for folder in scanner.folders.values() for rel in (*folder.texts, *folder.photos)}
    ours.update(scanner.defaults)
    if ours != articles.keys() | photos.keys():
        return None
    return mark if _matches(scanner, list(ours), articles, photos) else None


def _matches(scanner: Scanner, paths: list[str], articles: Mapping[str, ArticleRow],
             photos: Mapping[str, PhotoRow]) -> bool:
    """Whether our listings hold every one of these files as its index row does."""
    for rel in paths:
        folder = scanner.folders.get(rel.rpartition("/")[0])
        ours = None
        if folder is not None:
            ours = folder.texts.get(rel) or folder.photos.get(rel)
        if ours is None:
            ours = scanner.defaults.get(rel)
        row: ArticleRow | PhotoRow | None = articles.get(rel) or photos.get(rel)
        if (ours is None) != (row is None) or (row is not None and ours != (row.size, row.mtime)):
            return False
    return True


def _columns(scanner: Scanner, catalog: Catalog) -> dict | None:
    """Our state as plain columns; None when the catalog is not exactly what the listings
    hold (a file waits, or was read at another size or mtime)."""
    folders: list[tuple] = []
    rels: list[tuple[str, FileStat]] = []
    for rel_dir, folder in scanner.folders.items():
        folders.append((rel_dir, folder.mtime_ns, folder.settled, *folder.inode,
                        folder.subfolders, [_problem(p) for p in folder.problems],
                        list(folder.texts), [st.size for st in folder.texts.values()],
                        [st.mtime_ns for st in folder.texts.values()],
                        list(folder.photos), [st.size for st in folder.photos.values()],
                        [st.mtime_ns for st in folder.photos.values()]))
        rels.extend(folder.texts.items())
    texts = catalog.texts
    if len(rels) != len(texts):
        return None
    rubrics: dict[str, int] = {}  # by number: the file holds each name once
    rubric_of, ids, stamps, problems = [], [], [], {}
    for rel, st in rels:
        result = texts.get(rel)
        if isinstance(result, Entry):
            if result.stat != st or result.photo is not None:
                return None
            rubric_of.append(rubrics.setdefault(result.rubric, len(rubrics)))
            ids.append(result.id)
            stamps.append(result.timestamp)
        elif isinstance(result, Problem):
            problems[rel] = _problem(result)
        else:
            return None
    photos = [(rel, False, _problem(found)) if isinstance(found, Problem) else
              (rel, True, (found.path, found.size, found.mime_type, found.width,
                           found.height, found.mtime_ns))
              for by_path in catalog.photos.values() for rel, found in by_path.items()]
    return {"folders": folders, "rubrics": list(rubrics), "rubric": rubric_of, "ids": ids,
            "stamps": stamps, "problems": problems,
            "warnings": {rel: _problem(p) for rel, p in catalog.warnings.items()},
            "unreadable": sorted(catalog.unreadable), "photos": photos,
            "defaults": {rel: tuple(st) for rel, st in scanner.defaults.items()},
            "recent": sorted(scanner.recent)}


class _Listed(NamedTuple):
    """The saved listings, and every text file of them in order with its stat."""

    folders: dict[str, Folder]
    defaults: dict[str, FileStat]
    recent: set[str]
    rels: list[str]
    stats: list[FileStat]


def _made(kind: type, *columns: Iterable[object]) -> Iterator:
    """Named tuples from columns, all in C: tuple.__new__ on each row, where the class
    call would run its Python __new__ once per row (a start makes 200,000)."""
    return map(tuple.__new__, repeat(kind), zip(*columns, strict=False))


def _folders(columns: dict) -> _Listed:
    folders, rels, stats = {}, [], []
    for (rel_dir, mtime_ns, settled, device, inode, subfolders, problems, texts, sizes,
         mtimes, photos, photo_sizes, photo_mtimes) in columns["folders"]:
        if not len(texts) == len(sizes) == len(mtimes):
            raise ValueError("a listing's columns differ in length")
        text_stats = list(_made(FileStat, sizes, mtimes))
        rels += texts
        stats += text_stats
        folders[rel_dir] = Folder(
            mtime_ns, subfolders, dict(zip(texts, text_stats, strict=True)),
            dict(zip(photos, _made(FileStat, photo_sizes, photo_mtimes), strict=True)),
            [Problem(*p) for p in problems], settled, (device, inode))
    defaults = {rel: FileStat(*st) for rel, st in columns["defaults"].items()}
    return _Listed(folders, defaults, set(columns["recent"]), rels, stats)


def _fill_catalog(catalog: Catalog, columns: dict, listed: _Listed) -> None:
    """Parse results as Catalog.load makes them: entries without photos, default slugs;
    the catalog is left alone when the columns do not fit."""
    problems = columns["problems"]
    rels, stats = listed.rels, listed.stats
    if problems:
        kept = [at for at, rel in enumerate(rels) if rel not in problems]
        rels, stats = [rels[at] for at in kept], [stats[at] for at in kept]
    numbers, ids, stamps = (columns[key] for key in ("rubric", "ids", "stamps"))
    if not len(rels) == len(numbers) == len(ids) == len(stamps):
        raise ValueError("listings and parse results differ in length")
    names = [sys.intern(rubric) for rubric in columns["rubrics"]]
    rubrics = [names[number] for number in numbers]
    slugs = {rubric: slug_of(rubric) for rubric in names}
    texts: dict[str, Entry | Problem] = dict(zip(rels, _made(
        Entry, ids, rels, rubrics, map(slugs.__getitem__, rubrics), stamps, stats,
        repeat(None)), strict=True))
    texts.update((rel, Problem(*problem)) for rel, problem in problems.items())
    warnings = {rel: Problem(*p) for rel, p in columns["warnings"].items()}
    photos: dict[str, dict[str, Photo | Problem]] = {}
    for rel, is_photo, fields in columns["photos"]:
        if is_photo and len(fields) != len(Photo._fields):
            raise ValueError("a photo's columns do not fit")
        found = tuple.__new__(Photo, fields) if is_photo else Problem(*fields)
        photos.setdefault(os.path.splitext(rel)[0], {})[rel] = found
    unreadable = set(columns["unreadable"])
    catalog.texts, catalog.warnings, catalog.photos = texts, warnings, photos
    catalog.unreadable = unreadable
