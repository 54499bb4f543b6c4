"""What one scan of the store found: entries in order, rubrics, problems."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .model import Entry, Photo, Problem


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the store after one scan; requests read only this."""

    entries: tuple[Entry, ...] = ()  # newest first, embargoed ones included
    by_slug: Mapping[str, tuple[Entry, ...]] = field(default_factory=dict)
    by_id: Mapping[str, Entry] = field(default_factory=dict)
    rubrics: Mapping[str, str] = field(default_factory=dict)  # slug -> rubric name
    problems: tuple[Problem, ...] = ()
    default_photo: Photo | None = None
    changed_ns: int = 0  # newest folder mtime: a deletion shows only there
    generation: int = 0
    _keys: Mapping[str | None, Sequence[float]] = field(default_factory=dict)  # -published
    duplicates: frozenset[str] = frozenset()  # ids used by more than one file

    def _entries_for(self, slug: str | None) -> tuple[Entry, ...]:
        return self.entries if slug is None else self.by_slug.get(slug, ())

    def released(self, slug: str | None, now: float) -> tuple[Entry, ...]:
        """Entries of one rubric (or all, for None) published at or before now (Unix time)."""
        entries = self._entries_for(slug)
        keys = self._keys.get(slug)
        if not entries or keys is None:
            return ()
        return entries[bisect.bisect_left(keys, -now) :]

    def embargoed_count(self, slug: str | None, now: float) -> int:
        """How many entries still wait for their time: part of every cache key."""
        keys = self._keys.get(slug)
        return bisect.bisect_left(keys, -now) if keys else 0

    def next_release(self, now: float) -> float | None:
        """Unix time of the next embargoed article, if any."""
        keys = self._keys.get(None) or ()
        cut = bisect.bisect_left(keys, -now)
        return -keys[cut - 1] if cut else None

    def has_rubric(self, slug: str, now: float) -> bool:
        """Whether the rubric has a released article: one under embargo only is not shown
        anywhere, its name included."""
        return bool(self.released(slug, now))

    def rubric_slugs(self, now: float) -> list[str]:
        """Slugs of rubrics with at least one released article, by rubric name."""
        slugs = [slug for slug in self.by_slug if self.released(slug, now)]
        return sorted(slugs, key=lambda slug: self.rubrics[slug])

    @property
    def rejected(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]
