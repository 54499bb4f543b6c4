"""A doorbell for the scan thread: the kernel says when a watched folder changes.

The store is still polled (changes made on another machine of a network file
system reach no local watcher), but on a local disk inotify wakes the scan the
moment a file is renamed in, closed after writing or deleted, instead of at the
next poll. It also tells how a file arrived: a file renamed into place and not
written since is finished, so it need not wait out the settle time (settle.py).

Every folder is watched, the hot ones first and then the newest, up to
_MAX_FOLDERS per process (one watch per day folder: 3,800 at 100,000 articles);
the kernel then also names the folder of an in-place edit of an old article,
which the poll alone finds only on its slow round. Where inotify is missing or
refuses (another system, no instances or watches left), the doorbell watches
what it could, warns once, and the poll keeps the rest fresh.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import threading
import time
from collections.abc import Iterable

log = logging.getLogger("feeds.store")

try:  # Linux only; elsewhere the scan thread polls
    from inotify_simple import INotify
    from inotify_simple import flags as _in
except (ImportError, OSError):  # pragma: no cover - not Linux
    INotify = None  # type: ignore[assignment,misc]

_MAX_FOLDERS = 4096  # watches per process (about 1 KB of kernel memory each)
_MAX_MARKS = 4096  # files remembered as renamed in
_MARK_LIFETIME = 120.0  # seconds a renamed-in mark is kept if no scan takes it
_MIN_GAP = 0.02  # seconds between two scans woken by events: a burst makes one scan

if INotify is not None:
    _FINISHED = _in.MOVED_TO
    _WRITTEN = _in.MODIFY | _in.CLOSE_WRITE | _in.CREATE | _in.ATTRIB
    _GONE = _in.DELETE | _in.MOVED_FROM
    _WAKE = _in.MOVED_TO | _in.CLOSE_WRITE | _in.CREATE | _in.DELETE | _in.MOVED_FROM
    _MASK = (_FINISHED | _WRITTEN | _GONE | _in.DELETE_SELF | _in.MOVE_SELF
             | _in.ONLYDIR | _in.DONT_FOLLOW)


class Doorbell:
    """Waits for a poll's pause or for a change in a watched folder, whichever comes first."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._inotify: INotify | None = None
        self._wake_r, self._wake_w = -1, -1
        self._folders: dict[str, int] = {}  # rel folder -> watch descriptor
        self._by_wd: dict[int, str] = {}
        self._marks: dict[str, float] = {}  # renamed in, not written since: monotonic time
        self._touched: set[str] = set()  # folders with events since take_touched()
        self._rang = False  # an event worth a scan arrived since the last wait
        self._last_wake = 0.0
        self._warned = False

    @property
    def listening(self) -> bool:
        return self._inotify is not None

    def open(self) -> None:
        """Start listening in this process (a forked child opens its own)."""
        if INotify is None or self._inotify is not None:
            return
        self._wake_r, self._wake_w = os.pipe()
        try:
            self._inotify = INotify(nonblocking=True)
        except OSError as error:
            self._refused("cannot listen for store changes", error)

    def close(self) -> None:
        with self._lock:
            if self._inotify is not None:
                self._inotify.close()
            self._inotify = None
            for fd in (self._wake_r, self._wake_w):
                if fd >= 0:
                    os.close(fd)
            self._wake_r = self._wake_w = -1
            self._folders.clear()
            self._by_wd.clear()
            self._marks.clear()
            self._touched.clear()

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's descriptors without touching its watches."""
        if self._inotify is not None:
            self._inotify.close()  # closing our copy leaves the parent's instance alone
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._inotify, self._wake_r, self._wake_w = None, -1, -1
        self._folders, self._by_wd, self._marks, self._touched = {}, {}, {}, set()
        self._lock = threading.Lock()

    def _refused(self, what: str, error: OSError) -> None:
        if not self._warned:
            self._warned = True
            log.warning("%s (%s): new files show at the next poll instead", what,
                        error.strerror or error)

    # -- what is watched --------------------------------------------------------

    def watch(self, folders: Iterable[str] | None) -> None:
        """Watch exactly these folders (relative to the root; "" is the root), as many
        as the kernel allows, in this order; None: the same as before."""
        with self._lock:
            if self._inotify is None or folders is None:
                return
            wanted = list(dict.fromkeys(folders))[:_MAX_FOLDERS]
            wanted_set = set(wanted)
            for rel in set(self._folders) - wanted_set:
                wd = self._folders.pop(rel)
                self._by_wd.pop(wd, None)
                with contextlib.suppress(OSError):  # a folder gone took its watch along
                    self._inotify.rm_watch(wd)
            for rel in wanted:
                if rel in self._folders:
                    continue
                try:
                    wd = self._inotify.add_watch(f"{self.root}/{rel}" if rel else self.root,
                                                 _MASK)
                except OSError as error:
                    if error.errno in (errno.ENOSPC, errno.EMFILE, errno.ENFILE):
                        self._refused(f"cannot watch more than {len(self._folders)} folders",
                                      error)
                        break  # no watches left: the older folders are polled
                    continue
                self._folders[rel] = wd
                self._by_wd[wd] = rel

    # -- waiting ----------------------------------------------------------------

    def wait(self, timeout: float) -> None:
        """Sleep up to timeout; return early when a watched folder changed or on ring().

        Returns at once when not listening: the caller then sleeps its own way."""
        inotify, wake = self._inotify, self._wake_r
        if inotify is None:
            return
        deadline = time.monotonic() + timeout
        while True:
            self._drain()
            with self._lock:
                rang, self._rang = self._rang, False
            if rang:
                time.sleep(max(0.0, self._last_wake + _MIN_GAP - time.monotonic()))
                self._last_wake = time.monotonic()
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            poller = select.poll()  # not select(): descriptors past 1024 are fine
            try:
                poller.register(inotify.fileno(), select.POLLIN)
                poller.register(wake, select.POLLIN)
                ready = [fd for fd, _ in poller.poll(left * 1000)]
            except (OSError, ValueError):
                return  # closed under us: the watcher is stopping
            if wake in ready:
                os.read(wake, 64)
                return

    def ring(self) -> None:
        """Wake a wait() now (the watcher is stopping)."""
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")

    def take_touched(self) -> set[str]:
        """Folders where something happened since the last call: call before stat-ing."""
        self._drain()
        with self._lock:
            touched, self._touched = self._touched, set()
            return touched

    def finished(self) -> set[str]:
        """Files renamed into place and not written since: call after stat-ing them.

        Events are queued by the kernel within the write itself, so draining after
        the stat sees every write that the stat could have seen.
        """
        self._drain()
        with self._lock:
            return set(self._marks)

    def _drain(self) -> None:
        with self._lock:
            inotify = self._inotify
            if inotify is None:
                return
            try:
                events = list(inotify.read(timeout=0))
            except (OSError, ValueError):
                return
            now = time.monotonic()
            for event in events:
                if event.mask & _in.Q_OVERFLOW:  # events lost: every watched folder again
                    self._marks.clear()
                    self._touched.update(self._folders)
                    self._rang = True
                    continue
                rel_dir = self._by_wd.get(event.wd)
                if rel_dir is None:
                    continue
                if event.mask & (_in.IGNORED | _in.DELETE_SELF | _in.MOVE_SELF):
                    self._rang = True
                    continue
                name = event.name
                if not name or name.startswith("."):
                    continue  # a temporary file being written: its rename counts
                rel = f"{rel_dir}/{name}" if rel_dir else name
                self._touched.add(rel_dir)
                if event.mask & _FINISHED:
                    self._marks[rel] = now
                elif event.mask & (_WRITTEN | _GONE):
                    self._marks.pop(rel, None)
                if event.mask & _WAKE:
                    self._rang = True
            if len(self._marks) > _MAX_MARKS or events:
                old = now - _MARK_LIFETIME
                for rel in [r for r, at in self._marks.items() if at < old]:
                    del self._marks[rel]
                while len(self._marks) > _MAX_MARKS:
                    del self._marks[next(iter(self._marks))]
