"""What one scan of the store found: entries in order, rubrics, problems."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field

from .model import Entry, Photo, Problem


def _minus_timestamp(entry: Entry) -> float:
    return -entry.timestamp


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
    duplicates: frozenset[str] = frozenset()  # ids used by more than one file

    def _entries_for(self, slug: str | None) -> tuple[Entry, ...]:
        return self.entries if slug is None else self.by_slug.get(slug, ())

    def _embargoed(self, entries: tuple[Entry, ...], now: float) -> int:
        """How many of entries (newest first) are still to come: a binary search, so a
        snapshot needs no array of keys, which every build and update would make again."""
        return bisect.bisect_left(entries, -now, key=_minus_timestamp)

    def released(self, slug: str | None, now: float) -> tuple[Entry, ...]:
        """Entries of one rubric (or all, for None) published at or before now (Unix time)."""
        entries = self._entries_for(slug)
        return entries[self._embargoed(entries, now) :]

    def embargoed_count(self, slug: str | None, now: float) -> int:
        """How many entries still wait for their time: part of every cache key."""
        return self._embargoed(self._entries_for(slug), now)

    def next_release(self, now: float) -> float | None:
        """Unix time of the next embargoed article, if any."""
        cut = self._embargoed(self.entries, now)
        return self.entries[cut - 1].timestamp if cut else None

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
