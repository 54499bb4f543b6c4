"""The article store: scanning the folder, spotting changes, and the index.

Every scan only stats files; a text file is parsed again only when its size or
mtime changed. Parse results live in a small SQLite file shared by every worker
process, so what one worker parsed the others (and the next start) reuse.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import heapq
import logging
import os
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from .guard import ScanGuard
from .images import ImageError, sniff_photo
from .index import ArticleIndex, ArticleRow, PhotoRow
from .model import Article, Entry, Photo, Problem, assign_slugs, default_slug
from .names import name_problem, shown
from .parse import MINSK, ParseError, decode_article, parse_article
from .search import document
from .snapshot import Snapshot

log = logging.getLogger("feeds.store")

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")  # in order of preference
DEFAULT_PHOTO_STEM = "_default"
PACKAGED_DEFAULT_PHOTO = Path(__file__).parent / "static" / "default.jpg"
# Above this many files to parse, workers take turns so only one parses them.
_SHARED_PARSE_THRESHOLD = 64
_PROGRESS_EVERY = 5000
# A full scan (every file stated) cheaper than this runs every time; a slower one
# (a store of many thousands of files) runs every _FULL_SCAN_EVERY seconds at most.
_FULL_SCAN_BUDGET = 0.05
_FULL_SCAN_EVERY = 10.0
_RECENT_FILES = 2000  # stated on every scan, full or not
UNREADABLE = "cannot read"  # the reason of every file that could not be opened or read
_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_regular(path: str, limit: int) -> bytes:
    """Up to limit bytes of a regular file; a FIFO or device never blocks the scan."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return fh.read(limit)


def _not_regular(mode: int) -> str:
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
    return f"{UNREADABLE}: it is {kind}, not a regular file"
# A one-shot scan (check, build) waits at most this long for files still being written.
_SETTLE_WAIT = 10.0


class _Stat(NamedTuple):
    """Size and mtime: a tuple, so comparing 100,000 of them stays in C."""

    size: int
    mtime_ns: int


@dataclass(slots=True)
class _Folder:
    """One folder's listing as of its mtime; reused while the folder's mtime holds."""

    mtime_ns: int
    subfolders: list[str]
    texts: dict[str, _Stat]
    photos: dict[str, _Stat]
    problems: list[Problem]


def _index_sorted(entries: list[Entry]) -> tuple[tuple[Entry, ...], list[float]]:
    entries.sort(key=lambda e: e.sort_key)
    return tuple(entries), [-e.timestamp for e in entries]


def _row_to_result(row: ArticleRow, display: str) -> Entry | Problem:
    if row.reason is not None:
        return Problem(display, row.reason, row.line)
    assert row.id is not None and row.rubric is not None and row.title is not None
    assert row.published is not None
    return Entry(
        id=row.id, path=row.path, rubric=sys.intern(row.rubric), slug=default_slug(row.rubric),
        published=datetime.fromtimestamp(row.published, MINSK), title=row.title,
        size=row.size, mtime_ns=row.mtime, timestamp=row.published,
    )


class Store:
    """The article store of one process: a background scan keeps its snapshot fresh."""

    def __init__(self, root: Path | str, index_file: Path | None = None,
                 max_article_bytes: int = 1 << 20, refresh_interval: float = 1.0,
                 settle_time: float = 0.0) -> None:
        self.display_root = str(root)
        self.root = os.path.realpath(root)
        self.max_article_bytes = max_article_bytes
        self.refresh_interval = refresh_interval
        self.settle_time = settle_time
        # Files new or changed but not yet settled: path -> (size+mtime, when first seen).
        self._unsettled: dict[str, tuple[_Stat, float]] = {}
        self._next_settle: float | None = None  # monotonic time the first of them settles
        self._walk_seconds = 0.0  # what one scan costs without parsing: sets the pace
        self.snapshot = Snapshot()
        self.index_file = index_file
        self._index: ArticleIndex | None = None
        self._lock = threading.RLock()
        self._files: dict[str, _Stat] = {}
        self._folders: dict[str, _Folder] = {}
        self._next_full_scan = 0.0
        self._recent: set[str] = set()
        self._photo_files: dict[str, _Stat] = {}
        self._results: dict[str, Entry | Problem] = {}
        self._photo_results: dict[str, Photo | Problem] = {}
        self._warnings: dict[str, Problem] = {}
        self._unreadable: set[str] = set()  # tried again once they open: chmod keeps mtime
        self._retry: set[str] = set()
        self._passing: list[Problem] = []  # files that vanished while this scan read them
        self.guard = ScanGuard(self.display_root,
                               index_file.with_suffix(".guard.lock") if index_file else None)
        self._documents: dict[str, tuple[str, str, str]] = {}  # parsed, not yet saved
        self._scan_listeners: list[Callable[[Snapshot], None]] = []
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._load_article = lru_cache(maxsize=1024)(self._load_article_uncached)

    # -- paths ---------------------------------------------------------------

    def display(self, rel: str) -> str:
        """The path as people wrote it (content/2025/x.txt), safe text for messages."""
        return shown(os.path.join(self.display_root, rel))

    def absolute(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    # -- scanning ------------------------------------------------------------

    def _inside(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root + os.sep)

    def leads_inside(self, path: str) -> bool:
        """Whether path, links followed, is still inside the store: checked before serving."""
        return self._inside(os.path.realpath(path))

    def _list_folder(self, rel_dir: str, path: str, mtime_ns: int) -> _Folder:
        """Stat every entry of one folder; no file is opened."""
        folder = _Folder(mtime_ns, [], {}, {}, [])
        try:
            listing = list(os.scandir(path))
        except OSError:
            return folder
        for item in listing:
            name = item.name
            if name.startswith((".", "_")):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                if item.is_symlink() and not self._inside(os.path.realpath(item.path)):
                    folder.problems.append(Problem(
                        self.display(rel), "link leads outside the store; not followed",
                        fatal=False))
                    continue
                info = item.stat()
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                folder.subfolders.append(rel)
            elif stat.S_ISREG(info.st_mode):
                lower = name.lower()
                is_text = lower.endswith(".txt")
                if not is_text and not lower.endswith(PHOTO_EXTENSIONS):
                    continue
                bad_name = name_problem(name, os.path.splitext(name)[1])
                if bad_name is not None:
                    folder.problems.append(Problem(self.display(rel), bad_name, fatal=is_text))
                elif is_text:
                    folder.texts[rel] = _Stat(info.st_size, info.st_mtime_ns)
                else:
                    folder.photos[rel] = _Stat(info.st_size, info.st_mtime_ns)
            elif name.lower().endswith(".txt"):
                folder.problems.append(Problem(self.display(rel), _not_regular(info.st_mode)))
        return folder

    def _walk(self, full: bool) -> tuple[dict[str, _Stat], dict[str, _Stat], int, list[Problem]]:
        """Find every article and photo file under the root.

        A folder whose mtime did not change has the same names, so only a full
        scan lists it again; the most recently changed files are stated on every
        scan, which catches edits made in place (they leave the folder's mtime
        alone). On a large store an in-place edit of an old file waits for the
        next full scan.
        """
        folders: dict[str, _Folder] = {}
        newest_dir = 0
        seen_dirs: set[tuple[int, int]] = set()
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            path = os.path.join(self.root, rel_dir) if rel_dir else self.root
            try:
                dir_stat = os.stat(path)
            except OSError:
                continue
            if (dir_stat.st_dev, dir_stat.st_ino) in seen_dirs:
                continue
            seen_dirs.add((dir_stat.st_dev, dir_stat.st_ino))
            newest_dir = max(newest_dir, dir_stat.st_mtime_ns)
            folder = old = self._folders.get(rel_dir)
            if full or folder is None or folder.mtime_ns != dir_stat.st_mtime_ns:
                folder = self._list_folder(rel_dir, path, dir_stat.st_mtime_ns)
                if not full:
                    self._note_recent(folder, old)
            folders[rel_dir] = folder
            stack.extend(folder.subfolders)
        self._folders = folders
        if full:
            self._pick_recent(folders)
        else:
            self._restat_recent(folders)
        texts: dict[str, _Stat] = {}
        photos: dict[str, _Stat] = {}
        problems: list[Problem] = []
        for folder in folders.values():
            texts.update(folder.texts)
            photos.update(folder.photos)
            problems.extend(folder.problems)
        return texts, photos, newest_dir, problems

    def _note_recent(self, folder: _Folder, old: _Folder | None) -> None:
        """Add a relisted folder's new or changed files (not all of them) to the recent ones."""
        for files, before in ((folder.texts, old.texts if old else {}),
                              (folder.photos, old.photos if old else {})):
            self._recent.update(rel for rel, st in files.items() if before.get(rel) != st)

    def _restat_recent(self, folders: dict[str, _Folder]) -> None:
        """Stat again the files changed most recently: the ones people edit in place."""
        for rel in list(self._recent):
            folder = folders.get(rel.rpartition("/")[0])
            if folder is None:
                self._recent.discard(rel)
                continue
            files = folder.texts if rel in folder.texts else folder.photos
            path = self.absolute(rel)
            try:
                info = os.lstat(path)
                if stat.S_ISLNK(info.st_mode):
                    if not self.leads_inside(path):
                        folder.problems.append(Problem(
                            self.display(rel), "link leads outside the store; not followed",
                            fatal=False))
                        raise FileNotFoundError(rel)
                    info = os.stat(path)
                if not stat.S_ISREG(info.st_mode):
                    raise FileNotFoundError(rel)
                files[rel] = _Stat(info.st_size, info.st_mtime_ns)
            except OSError:
                files.pop(rel, None)
                self._recent.discard(rel)
        if len(self._recent) > _RECENT_FILES:
            self._pick_recent({rel.rpartition("/")[0]: folders[rel.rpartition("/")[0]]
                               for rel in self._recent}, among=self._recent)

    def _pick_recent(self, folders: dict[str, _Folder], among: set[str] | None = None) -> None:
        """Remember the most recently modified files (of all, or of `among`), at most a cap."""
        newest = heapq.nlargest(
            _RECENT_FILES,
            ((st.mtime_ns, rel) for folder in folders.values()
             for files in (folder.texts, folder.photos) for rel, st in files.items()
             if among is None or rel in among))
        self._recent = {rel for _, rel in newest}

    def _default_photo_files(self) -> dict[str, _Stat]:
        found: dict[str, _Stat] = {}
        for ext in PHOTO_EXTENSIONS:
            rel = DEFAULT_PHOTO_STEM + ext
            with contextlib.suppress(OSError):
                path = os.path.join(self.root, rel)
                if self._inside(os.path.realpath(path)):
                    info = os.stat(path)
                    if stat.S_ISREG(info.st_mode):
                        found[rel] = _Stat(info.st_size, info.st_mtime_ns)
        return found

    # -- parsing -------------------------------------------------------------

    def _parse_file(self, rel: str, st: _Stat) -> tuple[ArticleRow | None, Entry | Problem]:
        """Parse one text file; the row is None when the file changed under us."""
        display = self.display(rel)
        article_id = os.path.basename(rel)[:-4]
        row: ArticleRow
        if st.size > self.max_article_bytes:
            reason = (f"file is {st.size} bytes, over the {self.max_article_bytes} byte limit;"
                      " skipped")
            row = ArticleRow(rel, st.size, st.mtime_ns, None, None, None, None, None, reason, None)
            return row, Problem(display, reason)
        try:
            data = read_regular(self.absolute(rel), self.max_article_bytes + 1)
            after = os.stat(self.absolute(rel))
        except FileNotFoundError:
            return None, Problem(display, "vanished while the store was being read")
        except OSError as exc:
            reason = f"{UNREADABLE}: {exc.strerror or exc}"
            row = ArticleRow(rel, st.size, st.mtime_ns, None, None, None, None, None, reason,
                             None)
            return row, Problem(display, reason)
        if after.st_size != st.size or after.st_mtime_ns != st.mtime_ns or len(data) != st.size:
            return None, Problem(display, "file is being written; will retry")
        text, warning = decode_article(data)
        try:
            article = parse_article(text, article_id, display)
        except ParseError as exc:
            row = ArticleRow(rel, st.size, st.mtime_ns, None, None, None, None, exc.line,
                             exc.reason, None)
            return row, Problem(display, exc.reason, exc.line)
        row = ArticleRow(rel, st.size, st.mtime_ns, article.id, article.rubric,
                         article.published.timestamp(), article.title, None, None, warning)
        self._documents[rel] = document(article.title, article.paragraphs, article.rubric)
        return row, _row_to_result(row, display)

    def _take_cached(self, paths: list[str], texts: dict[str, _Stat],
                     cached: dict[str, ArticleRow]) -> list[str]:
        """Use cached rows that match the file's size and mtime; return the paths left."""
        misses = []
        for rel in paths:
            row = cached.get(rel)
            st = texts[rel]
            if (row is not None and row.size == st.size and row.mtime == st.mtime_ns
                    and rel not in self._retry):
                self._take_row(rel, row)
            else:
                misses.append(rel)
        return misses

    def _resolve_texts(self, changed: list[str], texts: dict[str, _Stat],
                       cached: dict[str, ArticleRow]) -> None:
        """Fill self._results for changed files, from the shared cache or by parsing."""
        misses = self._take_cached(changed, texts, cached)
        if len(misses) <= _SHARED_PARSE_THRESHOLD:
            self._parse_many(misses, texts)
            return
        assert self._index is not None
        with self._index.exclusive():
            # Another worker may have parsed them while we waited for the lock.
            misses = self._take_cached(misses, texts, self._index.articles(misses))
            self._parse_many(misses, texts)

    def _parse_many(self, misses: list[str], texts: dict[str, _Stat]) -> None:
        assert self._index is not None
        rows: list[ArticleRow] = []
        started = time.monotonic()
        show_progress = len(misses) >= _PROGRESS_EVERY
        for done, rel in enumerate(misses, 1):
            row, result = self._parse_file(rel, texts[rel])
            if row is None:
                texts.pop(rel)  # not seen: the next scan tries again
                if isinstance(result, Problem) and result.reason.startswith("vanished"):
                    self._passing.append(result)
                    log.warning("%s", result)
                continue
            rows.append(row)
            before = self._results.get(rel)
            self._take_row(rel, row)
            if isinstance(result, Problem) and result != before:
                log.warning("%s", result)
            elif row.warning:
                log.warning("%s: %s", self.display(rel), row.warning)
            if len(rows) >= 2000:
                self._save_rows(rows)
                rows = []
            if show_progress and (done % _PROGRESS_EVERY == 0 or done == len(misses)):
                rate = done / max(time.monotonic() - started, 1e-6)
                print(f"indexing {self.display_root}: {done}/{len(misses)} articles"
                      f" ({rate:.0f}/s)", file=sys.stderr, flush=True)
        self._save_rows(rows)

    def _save_rows(self, rows: list[ArticleRow]) -> None:
        """Parse rows and their search documents go to the index in one transaction."""
        assert self._index is not None
        self._index.save_articles(rows, self._documents)
        self._documents.clear()

    def _take_row(self, rel: str, row: ArticleRow) -> None:
        self._results[rel] = _row_to_result(row, self.display(rel))
        if row.reason is not None and row.reason.startswith(UNREADABLE):
            self._unreadable.add(rel)
        else:
            self._unreadable.discard(rel)
        if row.warning:
            self._warnings[rel] = Problem(self.display(rel), row.warning, fatal=False)
        else:
            self._warnings.pop(rel, None)

    def _resolve_photos(self, changed: list[str], photos: dict[str, _Stat],
                        cached: dict[str, PhotoRow]) -> None:
        assert self._index is not None
        rows = []
        for rel in changed:
            st = photos[rel]
            row = cached.get(rel)
            if row is None or row.size != st.size or row.mtime != st.mtime_ns:
                try:
                    photo = sniff_photo(self.absolute(rel), st.size, st.mtime_ns)
                    row = PhotoRow(rel, st.size, st.mtime_ns, photo.mime_type, photo.width,
                                   photo.height, None)
                except ImageError as exc:
                    row = PhotoRow(rel, st.size, st.mtime_ns, None, None, None, str(exc))
                rows.append(row)
            if row.reason is not None:
                self._photo_results[rel] = Problem(self.display(rel), row.reason, fatal=False)
            else:
                assert row.mime is not None
                self._photo_results[rel] = Photo(self.absolute(rel), st.size, row.mime,
                                                 row.width, row.height, st.mtime_ns)
        self._index.save_photos(rows)

    # -- the snapshot --------------------------------------------------------

    def _open_index(self) -> ArticleIndex:
        if self._index is None:
            self._index = ArticleIndex(self.index_file)
        return self._index

    def _retry_unreadable(self, texts: dict[str, _Stat]) -> None:
        """Files that could not be read count as changed once they open again."""
        for rel in list(self._unreadable):
            if rel not in texts:
                self._unreadable.discard(rel)
                continue
            with contextlib.suppress(OSError):
                os.close(os.open(self.absolute(rel), os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY))
                self._files.pop(rel, None)
                self._retry.add(rel)

    def index(self) -> ArticleIndex:
        """The shared index file (searches read its full-text table)."""
        with self._lock:
            return self._open_index()

    def refresh(self) -> bool:
        """Scan the store once; return True when the snapshot changed.

        A scan that lost the store (see guard.py) changes nothing and returns False.
        """
        with self._lock:
            first = self._index is None
            index = self._open_index()
            started = time.monotonic()
            started_wall = time.time()
            full = first or started >= self._next_full_scan
            texts, photos, newest_dir, walk_problems = self._walk(full)
            took = self._walk_seconds = time.monotonic() - started
            if full:
                # Full scans of a huge store are spaced out; small stores get one every time.
                self._next_full_scan = started + (0 if took < _FULL_SCAN_BUDGET
                                                  else max(_FULL_SCAN_EVERY, 25 * took))
            photos.update(self._default_photo_files())
            if not self.guard.judge(self.root, len(texts), len(self._files),
                                    self.snapshot.generation == 0):
                self._next_full_scan = 0.0  # list every folder again once it is back
                return False
            self._retry_unreadable(texts)
            if self._hold_unsettled(texts, photos) and not first:
                # The folder changed for a file not shown yet: Last-Modified waits for it.
                newest_dir = min(newest_dir, self.snapshot.changed_ns)
            if (not first and texts == self._files and photos == self._photo_files
                    and newest_dir == self.snapshot.changed_ns):
                self.guard.published(len(texts), started_wall, time.monotonic() - started)
                return False
            changed = [rel for rel, st in texts.items() if self._files.get(rel) != st]
            changed_photos = [rel for rel, st in photos.items()
                              if self._photo_files.get(rel) != st]
            if first:
                cached, cached_photos = index.all_articles(), index.all_photos()
            else:
                cached = index.articles(changed) if changed else {}
                cached_photos = {}
            self._resolve_texts(changed, texts, cached)
            self._resolve_photos(changed_photos, photos, cached_photos)
            gone = set(self._results) - set(texts)
            for rel in gone:
                self._results.pop(rel, None)
                self._warnings.pop(rel, None)
            if first:  # files deleted while no worker was running
                gone.update(set(cached) - set(texts))
            index.forget(sorted(gone))
            for rel in set(self._photo_results) - set(photos):
                self._photo_results.pop(rel, None)
            self._files, self._photo_files = texts, photos
            first_index = self.snapshot.generation == 0
            self._retry.clear()
            self.snapshot = self._build_snapshot(newest_dir, walk_problems + self._passing,
                                                 self.snapshot.generation + 1)
            self._passing = []
            self.guard.published(len(texts), started_wall, time.monotonic() - started)
            self.guard.report(walk_problems)
            self._ready.set()
            if first_index:
                # The first index is long-lived: keep the garbage collector from walking
                # it again and again, which on a large store shows in request latency.
                gc.freeze()
        return True

    def _hold_unsettled(self, texts: dict[str, _Stat], photos: dict[str, _Stat]) -> bool:
        """Keep new or changed files at their last published version until they settle.

        A file is settled when its mtime is settle_time old (an atomic rename of a
        finished file publishes at once), or when its size and mtime stayed the same
        for settle_time of our own watching (a clock that runs ahead). Returns
        whether any file is held back.
        """
        self._next_settle = None
        if self.settle_time <= 0:
            return False
        now, wall_ns = time.monotonic(), time.time_ns()
        waiting: dict[str, tuple[_Stat, float]] = {}
        for found, published in ((texts, self._files), (photos, self._photo_files)):
            for rel, st in list(found.items()):
                before = published.get(rel)
                if before == st:
                    continue
                seen = self._unsettled.get(rel)
                first_seen = seen[1] if seen is not None and seen[0] == st else now
                by_mtime = self.settle_time - (wall_ns - st.mtime_ns) / 1e9
                by_watch = self.settle_time - (now - first_seen)
                left = min(by_mtime, by_watch)
                if left <= 0:
                    continue
                waiting[rel] = (st, first_seen)
                settles = now + left
                if self._next_settle is None or settles < self._next_settle:
                    self._next_settle = settles
                if before is None:
                    del found[rel]
                else:
                    found[rel] = before
        self._unsettled = waiting
        return bool(waiting)

    def refresh_settled(self, max_wait: float = _SETTLE_WAIT) -> None:
        """Scan until no file is still being written (or max_wait passed): for one-shot runs."""
        deadline = time.monotonic() + max_wait
        self.refresh()
        while self._next_settle is not None and self._next_settle < deadline:
            time.sleep(max(0.0, self._next_settle - time.monotonic()) + 0.01)
            self.refresh()

    def _photos_by_stem(self) -> tuple[dict[str, Photo], dict[str, list[Problem]]]:
        """The usable photo of each stem, in the order of PHOTO_EXTENSIONS, and the bad ones."""
        best: dict[str, tuple[int, Photo]] = {}
        bad: dict[str, list[Problem]] = {}
        for rel, result in self._photo_results.items():
            stem, extension = os.path.splitext(rel)
            if isinstance(result, Photo):
                rank = PHOTO_EXTENSIONS.index(extension.lower())
                if stem not in best or rank < best[stem][0]:
                    best[stem] = (rank, result)
            else:
                bad.setdefault(stem, []).append(result)
        return {stem: photo for stem, (_, photo) in best.items()}, bad

    def _default_photo(self) -> Photo:
        for ext in PHOTO_EXTENSIONS:
            found = self._photo_results.get(DEFAULT_PHOTO_STEM + ext)
            if isinstance(found, Photo):
                return found
        path = str(PACKAGED_DEFAULT_PHOTO)
        info = os.stat(path)
        return sniff_photo(path, info.st_size, info.st_mtime_ns)

    def _build_snapshot(self, newest_dir: int, walk_problems: list[Problem],
                        generation: int) -> Snapshot:
        problems = list(walk_problems)
        by_id: dict[str, list[tuple[str, Entry]]] = {}
        for rel, result in self._results.items():
            if isinstance(result, Problem):
                problems.append(result)
            else:
                by_id.setdefault(result.id, []).append((rel, result))
        problems.extend(self._warnings.values())
        photos, bad_photos = self._photos_by_stem()
        slugs = assign_slugs({entry.rubric for pairs in by_id.values() for _, entry in pairs})
        entries: list[Entry] = []
        for article_id, pairs in by_id.items():
            pairs.sort(key=lambda pair: pair[0])
            rel, entry = pairs[0]
            if len(pairs) > 1:
                winner = self.display(rel)
                problems.append(Problem(winner, f"id {article_id} is used by {len(pairs)} files;"
                                        " this one is published", fatal=False))
                problems.extend(Problem(self.display(other), f"id {article_id} is already used"
                                        f" by {winner}; not published") for other, _ in pairs[1:])
            photo = photos.get(rel[:-4])
            if photo is None:
                problems.extend(
                    Problem(p.path, f"{p.reason}; the default image is used instead", fatal=False)
                    for p in bad_photos.get(rel[:-4], ()))
            slug = slugs[entry.rubric]
            if entry.slug != slug or entry.photo != photo:
                entry = replace(entry, slug=slug, photo=photo)
                self._results[rel] = entry
            entries.append(entry)
        ordered, keys = _index_sorted(entries)
        by_slug: dict[str, list[Entry]] = {}
        for entry in ordered:
            by_slug.setdefault(entry.slug, []).append(entry)
        slug_entries = {slug: tuple(items) for slug, items in by_slug.items()}
        all_keys: dict[str | None, list[float]] = {None: keys}
        for slug, items in slug_entries.items():
            all_keys[slug] = [-e.timestamp for e in items]
        problems.sort(key=lambda p: (p.path, p.line or 0, p.reason))
        return Snapshot(
            entries=ordered,
            by_slug=slug_entries,
            by_id={e.id: e for e in ordered},
            rubrics={slug: name for name, slug in slugs.items()},
            problems=tuple(problems),
            default_photo=self._default_photo(),
            changed_ns=newest_dir,
            generation=generation,
            _keys=all_keys,
        )

    # -- bodies --------------------------------------------------------------

    def article(self, entry: Entry) -> Article | None:
        """The whole parsed article for an index entry, or None if it no longer parses."""
        return self._load_article(entry.path, entry.size, entry.mtime_ns)

    def _load_article_uncached(self, rel: str, size: int, mtime_ns: int) -> Article | None:
        if not self.leads_inside(self.absolute(rel)):
            return None  # replaced by a link out of the store since the scan
        try:
            data = read_regular(self.absolute(rel), self.max_article_bytes + 1)
        except OSError:
            return None
        text, _warning = decode_article(data)
        try:
            return parse_article(text, os.path.basename(rel)[:-4], self.display(rel))
        except ParseError:
            return None

    # -- the background scan -------------------------------------------------

    def add_scan_listener(self, listener: Callable[[Snapshot], None]) -> None:
        """Call listener(snapshot) after every background scan, changed or not."""
        self._scan_listeners.append(listener)

    def ensure_watching(self) -> None:
        """Start the scanning thread in this process (again after a fork)."""
        if self._thread is not None and self._thread_pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread_pid == os.getpid():
                return
            self._stop.clear()
            self._thread_pid = os.getpid()
            self._thread = threading.Thread(target=self._watch, name="feeds-store", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
                for listener in self._scan_listeners:
                    listener(self.snapshot)
            except Exception:  # the scan must survive anything the disk does
                log.exception("store scan failed")
            # A slow scan (a huge store) is not repeated back to back; parsing, as on a
            # first start, does not count: it is not repeated. A file about to settle
            # is looked at again as soon as it does.
            pause = max(self.refresh_interval, 3 * self._walk_seconds)
            if self._next_settle is not None:
                pause = min(pause, self._next_settle - time.monotonic() + 0.01)
            self._stop.wait(max(pause, 0.01))

    def stop(self) -> None:
        """Stop the scanning thread and release the index file."""
        self._stop.set()
        self.guard.close()
        with self._lock:
            if self._index is not None:
                self._index.db.close()
                self._index = None

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)
