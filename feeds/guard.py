"""The store is never silently empty: a scan that lost the store is not published.

A missing or unreadable root, a root that suddenly holds no articles (an empty
mount point) or one that lost most of a large store at once (a dropped
sub-mount) keeps the last good snapshot in service. The outage is logged once
(ERROR) and its end once (INFO), by one process of the server: the holder of a
lock file beside the index.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .locks import take_lock

log = logging.getLogger("feeds.store")

# The mass-loss rule: a store of at least MASS_LOSS_MIN article files that loses more
# than half of them in one scan is held for MASS_LOSS_HOLD seconds; a loss that
# persists that long is taken as the newsroom's will and published.
MASS_LOSS_MIN = 50
MASS_LOSS_HOLD = 300.0


class StoreUnavailable(OSError):
    """The store root cannot be scanned: missing, not a folder, or unreadable."""


class StoreOutage(Exception):
    """A request needs a file of a store that is gone for now: 503, never a partial answer."""


def root_problem(root: str | os.PathLike[str]) -> str | None:
    """Why the store root cannot be scanned, or None when it can."""
    try:
        info = os.stat(root)
    except FileNotFoundError:
        return "no such folder"
    except OSError as exc:
        return f"cannot open it: {exc.strerror}"
    if not stat.S_ISDIR(info.st_mode):
        return "not a folder"
    try:
        with os.scandir(root) as listing:
            next(listing, None)
    except OSError as exc:
        return f"cannot list it: {exc.strerror}"
    return None


def check_root(root: Path) -> None:
    """Raise StoreUnavailable naming the path (absolute, too, when given relative)."""
    problem = root_problem(root)
    if problem is not None:
        shown = str(root) if root.is_absolute() else f"{root} ({os.path.abspath(root)})"
        raise StoreUnavailable(f"store {shown}: {problem}")


@dataclass(frozen=True, slots=True)
class Health:
    """The guard's view of the store, for /healthz: status is "ok" when serving a fresh scan."""

    status: str  # "starting", "ok", "unavailable", "empty", "mass-loss"
    reason: str | None
    last_scan: float | None  # wall-clock time of the last published (or unchanged) scan
    scan_seconds: float  # how long that scan took


class ScanGuard:
    """Decides whether a finished scan may replace the snapshot in service."""

    def __init__(self, display_root: str, lock_path: Path | None,
                 hold: float = MASS_LOSS_HOLD, clock: Callable[[], float] = time.time) -> None:
        self.display_root = display_root
        self.lock_path = lock_path
        self.hold = hold
        self.clock = clock
        self.health = Health("starting", "the first scan is running", None, 0.0)
        self._loss_since: float | None = None
        self._lock_file: IO[str] | None = None
        self._reported: set[object] = set()

    @property
    def held(self) -> bool:
        """True while the store is lost and the last good snapshot is in service."""
        return self.health.status not in ("ok", "starting")

    def check_not_held(self) -> None:
        """Raise StoreOutage while the store is lost (a missing file then means nothing)."""
        if self.held:
            raise StoreOutage(self.health.reason)

    def judge(self, root: str, found: int, before: int, first: bool) -> bool:
        """May a scan that found `found` article files replace one that had `before`?"""
        now = self.clock()
        problem = root_problem(root)
        if problem is not None:
            return self._refuse("unavailable", problem, before)
        if found == 0 and before > 0:
            return self._refuse("empty", f"the scan found no articles where the last one"
                                f" found {before}", before)
        if not first and before >= MASS_LOSS_MIN and found * 2 < before:
            self._loss_since = self._loss_since or now
            if now - self._loss_since < self.hold:
                return self._refuse("mass-loss", f"the scan found {found} article files where"
                                    f" the last one found {before}", before)
            if self._speaker():
                log.warning("store %s: the loss of %d of %d article files has lasted %.0f s;"
                            " publishing the store as it is now", self.display_root,
                            before - found, before, now - self._loss_since)
        self._loss_since = None
        return True

    def published(self, found: int, started: float, seconds: float) -> None:
        """The scan that began at `started` (wall clock) is what the service now shows."""
        if self.held and self._speaker():
            log.info("store %s is back: %d article files; publishing again",
                     self.display_root, found)
        self.health = Health("ok", None, started, seconds)

    def _refuse(self, status: str, reason: str, before: int) -> bool:
        if not self.held and self._speaker():
            log.error("store %s: %s; serving the last good scan (%d article files) until"
                      " it is back", self.display_root, reason, before)
        self.health = Health(status, reason, self.health.last_scan, self.health.scan_seconds)
        return False

    def report(self, problems: Iterable[object]) -> None:
        """Log each problem once while it lasts (by the one speaking process)."""
        current = set(problems)
        if self._speaker():
            for problem in sorted(current - self._reported, key=str):
                log.warning("%s", problem)
        self._reported = current

    def _speaker(self) -> bool:
        """True in the one process that logs for all: the holder of the lock file."""
        if self.lock_path is None or self._lock_file is not None:
            return True
        try:
            handle = take_lock(self.lock_path)
        except OSError:
            return True  # no lock to share: better a line per process than none
        if handle is None:
            return False
        self._lock_file = handle
        return True

    def close(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
