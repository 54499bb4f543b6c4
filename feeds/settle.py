"""Files being written are held back until they settle, so no half file is ever published."""

from __future__ import annotations

import time
from collections.abc import Collection

from .scan import Changes, FileStat


class Settling:
    """New or changed files waiting for settle_time, at their last published version.

    A file is settled when it was renamed into place and not written since (where
    the kernel tells, notify.py), when its mtime is settle_time old (an older
    file renamed in), or when its size and mtime stayed the same
    for settle_time of our own watching (a clock that runs ahead).
    """

    def __init__(self, settle_time: float) -> None:
        self.settle_time = settle_time
        self.next_settle: float | None = None  # monotonic time the first of them settles
        self._waiting: dict[str, tuple[FileStat, float, bool]] = {}  # stat, first seen, text

    def hold(self, changes: Changes, finished: Collection[str] = ()) -> bool:
        """Take unsettled files out of changes; put back those settled since. True if any wait.

        finished: files known to be renamed into place and not written since
        (notify.py): they are whole, so they need not wait.
        """
        self.next_settle = None
        if self.settle_time <= 0:
            return False
        now, wall_ns = time.monotonic(), time.time_ns()
        waiting: dict[str, tuple[FileStat, float, bool]] = {}
        for found, is_text in ((changes.texts, True), (changes.photos, False)):
            for rel, st in list(found.items()):
                if st is None:
                    continue  # a deletion counts at once
                seen = self._waiting.get(rel)
                first_seen = seen[1] if seen is not None and seen[0] == st else now
                if rel not in finished and self._left(st, first_seen, now, wall_ns) > 0:
                    waiting[rel] = (st, first_seen, is_text)
                    del found[rel]
        for rel, (st, first_seen, is_text) in self._waiting.items():
            if rel in waiting or rel in changes.texts or rel in changes.photos:
                continue
            if rel not in finished and self._left(st, first_seen, now, wall_ns) > 0:
                waiting[rel] = (st, first_seen, is_text)
            else:
                (changes.texts if is_text else changes.photos)[rel] = st
        for st, first_seen, _ in waiting.values():
            settles = now + self._left(st, first_seen, now, wall_ns)
            if self.next_settle is None or settles < self.next_settle:
                self.next_settle = settles
        self._waiting = waiting
        return bool(waiting)

    def _left(self, st: FileStat, first_seen: float, now: float, wall_ns: int) -> float:
        by_mtime = self.settle_time - (wall_ns - st.mtime_ns) / 1e9
        by_watch = self.settle_time - (now - first_seen)
        return min(by_mtime, by_watch)

    def waiting(self) -> set[str]:
        return set(self._waiting)
