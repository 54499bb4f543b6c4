"""From what the store found to a Snapshot: one function builds it, one updates it.

Both are pure: they read what they are given and return a new Snapshot; the old
one stays valid for requests still reading it. An update of a few files costs a
copy of the entry tuples, not a rebuild of every entry; it falls back to a full
build when the change reaches beyond those files (a rubric appears or goes, an
id is used twice, a walk problem comes or goes).
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter

from .model import Entry, Photo, Problem, assign_slugs, default_slug
from .scan import PHOTO_EXTENSIONS
from .snapshot import Snapshot

_PHOTO_RANK = {ext: rank for rank, ext in enumerate(PHOTO_EXTENSIONS)}
_timestamp = attrgetter("timestamp")
_TEXT_EXTENSIONS = sorted({"".join(c.upper() if n >> i & 1 else c for i, c in enumerate(".txt"))
                           for n in range(16)})  # .txt, .TXT, .Txt, ...


@dataclass(frozen=True)
class Found:
    """What the store knows after a scan, by file path (relative to the root)."""

    texts: Mapping[str, Entry | Problem]  # entries carry their rubric's usual slug, no photo
    warnings: Mapping[str, Problem]  # published with a remark (Windows-1251)
    photos: Mapping[str, Mapping[str, Photo | Problem]]  # by stem ("2025/a1"), then path
    walk_problems: Sequence[Problem]
    default_photo: Photo
    changed_ns: int  # newest folder mtime
    display: Callable[[str], str]  # path for messages
    passing: Sequence[Problem] = ()  # files that vanished while read: this snapshot only


def best_photo(candidates: Mapping[str, Photo | Problem]) -> tuple[Photo | None, list[Problem]]:
    """The usable photo of one stem (in the order of PHOTO_EXTENSIONS), and the bad ones."""
    if len(candidates) == 1:  # nearly always: a build looks at every photo
        (only,) = candidates.values()
        return (only, []) if isinstance(only, Photo) else (None, [only])
    best: Photo | None = None
    rank = len(PHOTO_EXTENSIONS)
    bad: list[Problem] = []
    for rel, result in candidates.items():
        if isinstance(result, Photo):
            this = _PHOTO_RANK[os.path.splitext(rel)[1].lower()]
            if this < rank:
                best, rank = result, this
        else:
            bad.append(result)
    return best, bad


def _published(found: Found, rel: str, entry: Entry, slug: str,
               problems: list[Problem]) -> Entry:
    """The entry as published: its rubric's slug and its photo; photo problems noted."""
    candidates = found.photos.get(rel[:-4])
    if candidates is None and entry.slug == slug and entry.photo is None:
        return entry  # most entries: as the index row made them
    photo, bad = best_photo(candidates or {})
    if photo is None:
        problems.extend(Problem(p.path, f"{p.reason}; the default image is used instead",
                                fatal=False) for p in bad)
    if entry.slug == slug and entry.photo == photo:
        return entry
    return Entry(entry.id, entry.path, entry.rubric, slug, entry.timestamp, entry.stat, photo)


def _publish_all(found: Found, chosen: dict[str, Entry], slugs: Mapping[str, str],
                 problems: list[Problem]) -> None:
    """Give the chosen entries (by id) their rubric's slug and their photo, in place.

    Entries come with their rubric's usual slug and no photo, so only those with a
    photo, and those of a rubric whose slug had to differ, are looked at.
    """
    renamed = {name for name, slug in slugs.items() if slug != default_slug(name)}
    touched = {e.id: e for e in chosen.values() if e.rubric in renamed} if renamed else {}
    for stem in found.photos:
        entry = chosen.get(stem.rpartition("/")[2])
        if entry is not None and entry.path[:-4] == stem:
            touched[entry.id] = entry
    for article_id, entry in touched.items():
        chosen[article_id] = _published(found, entry.path, entry, slugs[entry.rubric],
                                        problems)


def build_snapshot(found: Found, generation: int) -> Snapshot:
    """Every entry in order, by rubric and by id, and every problem: from scratch."""
    problems = [*found.walk_problems, *found.passing, *found.warnings.values()]
    rejected = [result for result in found.texts.values() if isinstance(result, Problem)]
    problems += rejected
    # By id; comprehensions first, as nearly always no id is used twice.
    chosen = {result.id: result for result in found.texts.values()
              if isinstance(result, Entry)}
    paths: dict[str, list[str]] = {}  # ids used by more than one file
    if len(chosen) + len(rejected) != len(found.texts):
        chosen, paths = _first_paths(found)
    for article_id, used in paths.items():
        problems.extend(_duplicate_problems(found, article_id, sorted(used)))
    slugs = assign_slugs({entry.rubric for entry in chosen.values()})
    _publish_all(found, chosen, slugs, problems)
    entries = list(chosen.values())
    # Newest first, the same minute by id (Entry.sort_key), in two C-speed passes.
    entries.sort(key=attrgetter("id"))
    entries.sort(key=_timestamp, reverse=True)
    by_slug: dict[str, list[Entry]] = {}
    for entry in entries:
        by_slug.setdefault(entry.slug, []).append(entry)
    problems.sort(key=_problem_order)
    return _snapshot(found, generation, tuple(entries),
                     {slug: tuple(items) for slug, items in by_slug.items()},
                     chosen, {slug: name for name, slug in slugs.items()},
                     tuple(problems), frozenset(paths))


def _first_paths(found: Found) -> tuple[dict[str, Entry], dict[str, list[str]]]:
    """Entries by id where an id is used by more than one file: the first path wins."""
    chosen: dict[str, Entry] = {}
    paths: dict[str, list[str]] = {}
    for rel, result in found.texts.items():
        if not isinstance(result, Entry):
            continue
        other = chosen.get(result.id)
        if other is None:
            chosen[result.id] = result
            continue
        paths.setdefault(result.id, [other.path]).append(rel)
        if rel < other.path:
            chosen[result.id] = result
    return chosen, paths


def _duplicate_problems(found: Found, article_id: str, paths: list[str]) -> list[Problem]:
    winner = found.display(paths[0])
    return [Problem(winner, f"id {article_id} is used by {len(paths)} files;"
                            " this one is published", fatal=False),
            *(Problem(found.display(other), f"id {article_id} is already used by {winner};"
                                            " not published") for other in paths[1:])]


def _problem_order(problem: Problem) -> tuple[str, int, str]:
    return (problem.path, problem.line or 0, problem.reason)


def _snapshot(found: Found, generation: int, entries: tuple[Entry, ...],
              by_slug: dict[str, tuple[Entry, ...]], by_id: dict[str, Entry],
              rubrics: Mapping[str, str], problems: tuple[Problem, ...],
              duplicates: frozenset[str]) -> Snapshot:
    return Snapshot(entries=entries, by_slug=by_slug, by_id=by_id, rubrics=rubrics,
                    problems=problems, default_photo=found.default_photo,
                    changed_ns=found.changed_ns, generation=generation,
                    duplicates=duplicates)


def update_snapshot(old: Snapshot, found: Found, texts: Collection[str],
                    photos: Collection[str], generation: int) -> Snapshot:
    """The snapshot after these text and photo files changed (or went away).

    Entries of other files stay the very same objects.
    """
    stems = {os.path.splitext(rel)[0] for rel in photos}
    paths = set(texts)
    for stem in stems:
        paths.update(_texts_of(old, found, stem))
    if any(os.path.basename(rel)[:-4] in old.duplicates for rel in paths):
        return build_snapshot(found, generation)
    slug_of = {name: slug for slug, name in old.rubrics.items()}
    removed = _old_entries(old, paths)
    added: list[Entry] = []
    problems = list(found.passing)
    for rel in sorted(paths):
        result = found.texts.get(rel)
        if isinstance(result, Problem):
            problems.append(result)
        elif result is not None:
            taken = old.by_id.get(result.id)
            if result.rubric not in slug_of or (taken is not None and taken.path != rel):
                return build_snapshot(found, generation)  # a new rubric, a second file
            added.append(_published(found, rel, result, slug_of[result.rubric], problems))
        if rel in found.warnings:
            problems.append(found.warnings[rel])
    if _empties_a_rubric(old, removed, added):
        return build_snapshot(found, generation)
    by_slug = dict(old.by_slug)
    for slug in {e.slug for e in (*removed, *added)}:
        by_slug[slug] = _replace(old.by_slug[slug], [e for e in removed if e.slug == slug],
                                 [e for e in added if e.slug == slug])
    by_id = dict(old.by_id)
    for entry in removed:
        del by_id[entry.id]
    by_id.update((entry.id, entry) for entry in added)
    shown = {found.display(rel) for rel in (*paths, *photos)}
    shown.update(found.display(rel) for stem in stems for rel in found.photos.get(stem, ()))
    kept = [p for p in old.problems if p.path not in shown]
    return _snapshot(found, generation, _replace(old.entries, removed, added), by_slug, by_id,
                     old.rubrics, tuple(sorted(kept + problems, key=_problem_order)),
                     old.duplicates)


def _texts_of(old: Snapshot, found: Found, stem: str) -> list[str]:
    """The text files a photo stem belongs to, now or in the old snapshot."""
    paths = [stem + ext for ext in _TEXT_EXTENSIONS if stem + ext in found.texts]
    entry = old.by_id.get(os.path.basename(stem))
    if entry is not None and entry.path[:-4] == stem:
        paths.append(entry.path)
    return paths


def _old_entries(old: Snapshot, paths: Collection[str]) -> list[Entry]:
    """The entries of these files in the old snapshot, found through their ids."""
    ids = {os.path.basename(rel)[:-4] for rel in paths}
    return [e for e in (old.by_id.get(i) for i in ids) if e is not None and e.path in paths]


def _empties_a_rubric(old: Snapshot, removed: list[Entry], added: list[Entry]) -> bool:
    left: dict[str, int] = {}
    for entry in removed:
        left[entry.slug] = left.get(entry.slug, len(old.by_slug[entry.slug])) - 1
    for entry in added:
        left[entry.slug] = left.get(entry.slug, len(old.by_slug.get(entry.slug, ()))) + 1
    return any(count <= 0 for count in left.values())


def _replace(entries: tuple[Entry, ...], removed: list[Entry],
             added: list[Entry]) -> tuple[Entry, ...]:
    """entries without removed and with added, still newest first."""
    result = list(entries)
    for entry in removed:
        at = bisect.bisect_left(result, entry.sort_key, key=lambda e: e.sort_key)
        while result[at] is not entry:
            at += 1
        del result[at]
    for entry in added:
        bisect.insort(result, entry, key=lambda e: e.sort_key)
    return tuple(result)
