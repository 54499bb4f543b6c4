"""The article store of one process: refresh and the scan thread.

`scan` finds files and what changed, `catalog` turns them into parse results
(shared with every worker through the SQLite `index`), `builder` turns those
into the immutable Snapshot that requests read, `reader` reads one article file
(for the scan, and for pages through its bounded body cache), `resume` saves what
the scans hold so the next start need not read every index row. This module ties
them together.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .builder import Found, best_photo, build_snapshot, update_snapshot
from .catalog import Catalog, packaged_default
from .guard import ScanGuard
from .index import ArticleIndex, PhotoRow
from .locks import take_lock
from .model import Article, Entry, Problem
from .names import shown
from .notify import Doorbell
from .reader import ArticleReader
from .resume import SavedState
from .scan import (
    DEFAULT_PHOTO_STEM,
    Changes,
    FileStat,
    Scanner,
    folder_row,
    seeded,
)
from .settle import Settling
from .snapshot import Snapshot
from .watch import Watcher

# A one-shot scan (check, build) waits at most this long for files still being written.
_SETTLE_WAIT = 10.0
_READY_WAIT = 5.0  # and a server starting on such files holds its first answers this long
_TURN_WAIT = 5.0  # a starting worker waits at most this long for another's first scan

_STORES: weakref.WeakSet[Store] = weakref.WeakSet()
log = logging.getLogger("feeds.store")


class Store:
    """The article store of one process: a background scan keeps its snapshot fresh."""

    def __init__(self, root: Path | str, index_file: Path | None = None,
                 max_article_bytes: int = 1 << 20, refresh_interval: float = 1.0,
                 settle_time: float = 0.0) -> None:
        self.display_root = str(root)
        self.root = os.path.realpath(root)
        self.refresh_interval = refresh_interval
        self.index_file = index_file
        self.guard = ScanGuard(self.display_root,
                               index_file.with_suffix(".guard.lock") if index_file else None)
        self._settling = Settling(settle_time)
        self._walk_seconds = 0.0  # what one scan costs without parsing: sets the pace
        self._text_count = 0  # article files of the scan in service
        self.snapshot = Snapshot()
        self._published = threading.Condition()
        self._lock = threading.RLock()
        self._index: ArticleIndex | None = None
        self._index_returns = 0  # the index's returns to its file already made up for
        self._saved = (SavedState(index_file.with_suffix(".state"), self.root,
                                  self.display_root) if index_file else None)
        self._scanner = Scanner(self.root, self.display)
        self._catalog: Catalog | None = None
        self._walk_problems: list[Problem] = []
        self._cached_photos: dict[str, PhotoRow] = {}  # while loading
        self._scan_listeners: list[Callable[[Snapshot], None]] = []
        self._doorbell = Doorbell(self.root)
        self._folders_moved = True  # folders came or went since the doorbell was told
        self._watcher = Watcher(self._scan_once, self._pause, self._doorbell,
                                self._folders_to_watch)
        self._ready = threading.Event()
        self._ready_by = 0.0  # ready then at the latest, files still being written or not
        self._reader = ArticleReader(self.display, self.absolute, self.leads_inside,
                                     max_article_bytes, self.root)
        _STORES.add(self)

    # -- paths ---------------------------------------------------------------

    def display(self, rel: str) -> str:
        """The path as people wrote it (content/2025/x.txt), safe text for messages."""
        return shown(os.path.join(self.display_root, rel))

    def absolute(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def leads_inside(self, path: str) -> bool:
        """Whether path, links followed, is still inside the store: checked before serving."""
        return self._scanner.inside(os.path.realpath(path))

    def article(self, entry: Entry) -> Article | None:
        """The whole parsed article for an index entry (reader.py keeps the bodies)."""
        return self._reader.article(entry)

    def titles(self, entries: Sequence[Entry]) -> list[str]:
        """The titles of these entries, from the index (the article itself where the
        index lacks the row): for lists that show titles, not bodies."""
        found = self.index().titles([entry.path for entry in entries])
        titles = []
        for entry in entries:
            title = found.get(entry.path)
            if title is None:
                article = self.article(entry)
                title = article.title if article is not None else ""
            titles.append(title)
        return titles

    # -- refresh -------------------------------------------------------------

    def refresh(self) -> bool:
        """Scan the store once; return True when the snapshot changed.

        A scan that lost the store (see guard.py) changes nothing and returns False.
        """
        # The turn is taken under the lock: a fork (gunicorn --preload) waits for the
        # lock, so no child inherits the turn's lock file while it is held.
        with self._lock, self._first_scan_turn():
            started_wall, started = time.time(), time.monotonic()
            first = self._catalog is None
            if first:
                self._ready_by = started + _READY_WAIT
            saved = self._scanner.checkpoint()
            with _collector_paused(first):
                loaded, resumed = self._seed() if first else (None, False)
                changes = self._scanner.scan(self._doorbell.take_touched())
                if first or changes.listed or changes.dropped:
                    self._folders_moved = True
                self._walk_seconds = self._scanner.took
                count = self._scanner.text_count()
                if not self.guard.judge(self.root, count, self._text_count,
                                        self.snapshot.generation == 0):
                    if first:
                        self._scanner = Scanner(self.root, self.display)
                    else:
                        self._scanner.restore(saved)
                    return False
                held = self._settling.hold(changes, self._doorbell.finished())
                if loaded is None:
                    changed = self._apply(changes, held)
                elif resumed:
                    self._catalog = loaded
                    self._take(changes)
                    changed = self._build_first()
                else:
                    changed = self._load(loaded, changes)
                if first:
                    # The first index is long-lived: keep the garbage collector from
                    # walking it again and again, which on a large store shows in request
                    # latency (and, frozen before the collector is back, not even once).
                    gc.freeze()
            self._mark_ready()
            self._text_count = count
            self.guard.published(count, started_wall, time.monotonic() - started)
            self._save_state(bool(changes) if resumed else changed)
            return changed

    @contextlib.contextmanager
    def _first_scan_turn(self) -> Iterator[None]:
        """Workers starting together make their first snapshot one after the other: on a
        busy machine the first is then ready sooner (it does not share the free cores
        with the others) and takes the first requests (web.py). At most _TURN_WAIT: a
        first start that indexes a whole store takes minutes, and parsing takes turns
        by itself (catalog.py)."""
        held = None
        if self._catalog is None and self.index_file is not None:
            deadline = time.monotonic() + _TURN_WAIT
            with contextlib.suppress(OSError):  # no lock file: no turns
                path = self.index_file.with_suffix(".start.lock")
                while (held := take_lock(path)) is None and time.monotonic() < deadline:
                    time.sleep(0.005)
        try:
            yield
        finally:
            if held is not None:
                held.close()

    def refresh_settled(self, max_wait: float = _SETTLE_WAIT) -> None:
        """Scan until no file is still being written (or max_wait passed): for one-shot runs."""
        deadline = time.monotonic() + max_wait
        self.refresh()
        while (self._settling.next_settle is not None
               and self._settling.next_settle < deadline):
            time.sleep(max(0.0, self._settling.next_settle - time.monotonic()) + 0.01)
            self.refresh()

    def index(self) -> ArticleIndex:
        """The shared index file (searches read its full-text table); once open, without
        waiting for a scan in progress."""
        opened = self._index
        if opened is not None:
            return opened
        with self._lock:
            return self._open_index()

    @property
    def index_where(self) -> str | None:
        """Where this process keeps its index ("file" or "memory"); None before it is
        opened. Never waits for a scan in progress."""
        opened = self._index
        return None if opened is None else opened.where

    def _open_index(self) -> ArticleIndex:
        if self._index is None:
            self._index = ArticleIndex(self.index_file)
        return self._index

    def _seed(self) -> tuple[Catalog, bool]:
        """The saved state of the last scans, else every row of the index and the saved
        listings whose folder mtimes allow; True when resumed from the saved state."""
        index = self._open_index()
        catalog = Catalog(index, self._reader.read, self.display, self.absolute)
        if self._saved is not None:
            if self._saved.load(index, self._scanner, catalog):
                return catalog, True
            self._saved.started_from_index(index.change_mark())
        catalog.load()
        self._cached_photos = index.all_photos()
        self._scanner.seed(seeded(index.all_folders(), catalog.known, self._cached_photos))
        catalog.loaded()
        return catalog, False

    def _save_state(self, changed: bool) -> None:
        """Save what the scans hold for the next start, when due (resume.py)."""
        if self._saved is None or self._catalog is None:
            return
        self._saved.dirty |= changed
        try:
            self._saved.maybe_save(self._open_index(), self._scanner, self._catalog,
                                   not self._settling.waiting())
        except Exception:  # a cache: the snapshot is published, the next start reads the index
            log.exception("saving the state for the next start failed")

    def _load(self, catalog: Catalog, changes: Changes) -> bool:
        """The first snapshot of this process, built in full."""
        cached_photos, self._cached_photos = self._cached_photos, {}
        for rel, st in self._scanner.photos():
            catalog.update_photo(rel, st, cached_photos.get(rel))
        listed = set().union(*(folder.texts for folder in self._scanner.folders.values()))
        left = sorted(catalog.texts.keys() - listed)  # deleted while stopped
        for rel in left:
            catalog.forget_text(rel)
        catalog.update_texts({rel: st for rel, st in changes.texts.items() if st is not None})
        self._catalog = catalog
        self._save(changes, left)
        return self._build_first()

    def _build_first(self) -> bool:
        """The first snapshot of this process, built in full from the catalog."""
        walk_problems = self._scanner.problems()
        found = self._found(walk_problems, self._scanner.newest_ns())
        self._publish(build_snapshot(found, self.snapshot.generation + 1), walk_problems)
        return True

    def _apply(self, changes: Changes, held: bool) -> bool:
        """Bring the snapshot up to date with what a scan found."""
        catalog = self._catalog
        assert catalog is not None
        wanted = self._take(changes)
        walk_problems, newest = self._walk_problems, self.snapshot.changed_ns
        if changes.listed or changes.dropped:
            walk_problems, newest = self._scanner.problems(), self._scanner.newest_ns()
        if held:  # the folder changed for a file not shown yet: Last-Modified waits for it
            newest = min(newest, self.snapshot.changed_ns)
        if (not changes.texts and not wanted and not changes.photos and not catalog.passing
                and newest == self.snapshot.changed_ns and walk_problems == self._walk_problems):
            return False
        found = self._found(walk_problems, newest)
        generation = self.snapshot.generation + 1
        if walk_problems != self._walk_problems:
            self._publish(build_snapshot(found, generation), walk_problems)
        else:
            self._publish(update_snapshot(self.snapshot, found, {*changes.texts, *wanted},
                                          list(changes.photos), generation), walk_problems)
        return True

    def _take(self, changes: Changes) -> dict[str, FileStat]:
        """Bring the catalog and the index up to date with what a scan found; return the
        text files read or taken from the index (besides the changed ones, those read
        again: changed while read, readable again, missing from the index)."""
        catalog = self._catalog
        assert catalog is not None
        wanted = {rel: st for rel, st in changes.texts.items() if st is not None}
        for rel in catalog.unread - changes.texts.keys():  # changed under the last read
            now = self._scanner.stat_of(rel)
            if now is not None:
                wanted[rel] = now
        catalog.retry_unreadable(wanted, self._scanner.stat_of)
        self._refill_index(catalog, wanted)
        for rel, st in changes.texts.items():
            if st is None:
                catalog.forget_text(rel)
        catalog.update_texts(wanted)
        catalog.retry.clear()
        index = self._open_index()
        for rel, st in changes.photos.items():
            catalog.update_photo(rel, st, None if st is None else index.photo(rel))
        self._save(changes)
        return wanted

    def _refill_index(self, catalog: Catalog, wanted: dict[str, FileStat]) -> None:
        """Once the index is back on its file after a time in memory, the files it has
        no row for are read again (indexed only in memory, or before a fork that lost
        them), so searches through the file and the next start find them."""
        index = self._open_index()
        if index.returns == self._index_returns:
            return
        self._index_returns = index.returns
        known = [rel for rel in catalog.texts if rel not in wanted]
        rows = index.articles(known)
        for rel in known:
            row, st = rows.get(rel), self._scanner.stat_of(rel)
            if st is not None and (row is None or (row.size, row.mtime) != st):
                wanted[rel] = st

    def _publish(self, snapshot: Snapshot, walk_problems: list[Problem]) -> None:
        if walk_problems != self._walk_problems or snapshot.generation == 1:
            self.guard.report(walk_problems)
        self._walk_problems = walk_problems
        with self._published:
            self.snapshot = snapshot
            self._published.notify_all()

    def wait_for_change(self, generation: int, timeout: float) -> None:
        """Return once the snapshot is newer than generation, or after timeout."""
        with self._published:
            self._published.wait_for(lambda: self.snapshot.generation != generation, timeout)

    def _mark_ready(self) -> None:
        """Ready once the first scan found no file still being written (or waited enough):
        a server started on a store written a moment ago does not serve it half-empty."""
        if self._settling.next_settle is None or time.monotonic() >= self._ready_by:
            self._ready.set()

    def _found(self, walk_problems: list[Problem], newest: int) -> Found:
        catalog = self._catalog
        assert catalog is not None
        default, _ = best_photo(catalog.photos.get(DEFAULT_PHOTO_STEM, {}))
        passing, catalog.passing = catalog.passing, []
        return Found(catalog.texts, catalog.warnings, catalog.photos, walk_problems,
                     default or packaged_default(), newest, self.display, passing)

    def _save(self, changes: Changes, left: Sequence[str] = ()) -> None:
        """Write new rows, and the listings of folders whose files all have rows."""
        catalog = self._catalog
        assert catalog is not None
        rows, documents, photo_rows = catalog.take_rows()
        folders = [folder_row(rel, self._scanner.folders[rel], catalog.unread)
                   for rel in changes.listed if rel in self._scanner.folders]
        gone = [rel for found in (changes.texts, changes.photos)
                for rel, st in found.items() if st is None]
        gone += left  # files deleted while no worker was running
        self._open_index().save(rows, documents, photo_rows, gone, folders, changes.dropped)

    # -- the background scan -------------------------------------------------

    def add_scan_listener(self, listener: Callable[[Snapshot], None]) -> None:
        """Call listener(snapshot) after every background scan, changed or not."""
        self._scan_listeners.append(listener)

    def ensure_watching(self) -> None:
        """Start the scanning thread in this process (again after a fork)."""
        self._watcher.start()

    def _scan_once(self) -> None:
        self.refresh()
        for listener in self._scan_listeners:
            listener(self.snapshot)

    def _folders_to_watch(self) -> list[str] | None:
        """Every folder, hot ones first (scan.py), when they changed since last asked."""
        with self._lock:
            if not self._folders_moved:
                return None
            self._folders_moved = False
            return self._scanner.watch_order()

    def _pause(self) -> float:
        """A slow scan (a huge store) is not repeated back to back; parsing, as on a first
        start, does not count: it is not repeated. A file about to settle is looked at
        again as soon as it does."""
        pause = max(self.refresh_interval, 3 * self._walk_seconds)
        settles = self._settling.next_settle
        return pause if settles is None else min(pause, settles - time.monotonic() + 0.01)

    def stop(self) -> None:
        """Stop the scanning thread and release the index file."""
        self._watcher.stop()
        self.guard.close()
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None
                self._catalog = None

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    # -- forks (gunicorn --preload) ----------------------------------------------

    def _before_fork(self) -> None:
        """Wait for a scan in progress and close the index: SQLite must not cross a fork."""
        self._lock.acquire()
        if self._index is not None:
            self._index.close()

    def _after_fork_in_parent(self) -> None:
        if self._index is not None:
            self._index.reopen()
        self._lock.release()

    def _after_fork_in_child(self) -> None:
        """Fresh locks, an index connection and a scan thread of the child's own."""
        self._lock = threading.RLock()
        self._published = threading.Condition()
        ready, self._ready = self._ready, threading.Event()
        if ready.is_set():
            self._ready.set()
        if self._index is not None:
            self._index.reopen()
        self.guard.close()  # the parent keeps speaking for the store; a child asks again
        self._folders_moved = True
        self._watcher.after_fork_in_child()


@contextlib.contextmanager
def _collector_paused(paused: bool) -> Iterator[None]:
    """No garbage collection while the first index is built: it only allocates."""
    enabled = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if enabled and paused:
            gc.enable()


def _each_store(action: Callable[[Store], None]) -> Callable[[], None]:
    def run() -> None:
        for store in list(_STORES):
            action(store)
    return run


os.register_at_fork(before=_each_store(Store._before_fork),
                    after_in_parent=_each_store(Store._after_fork_in_parent),
                    after_in_child=_each_store(Store._after_fork_in_child))
