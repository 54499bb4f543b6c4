"""Finding the store's files and noticing what changed: listings and stats, no file opened.

A folder's mtime moves when a name in it is added, renamed or removed, so a folder
whose mtime holds keeps its listing. Three cadences keep a huge store cheap to
watch while new articles still show within a second:

- every scan stats the folders that changed last (with their parents, where a
  new folder shows) and the files changed last (edits in place leave the
  folder's mtime alone);
- a sweep stats every folder and lists again the ones whose mtime moved;
- every file is stated again: on a small store at every scan, on a large one a
  few folders at a time (_ROLL_SHARE of a core), so there an in-place edit
  of an old article waits for its folder's turn (a few minutes at 100,000 files).

A folder listed less than _SETTLE_NS after its last change is listed again at
the next scan: a name added within the same clock tick would not move its mtime.
"""

from __future__ import annotations

import heapq
import os
import stat
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from .index import FolderRow, PhotoRow
from .model import FileStat, Problem
from .names import name_problem

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")  # in order of preference
DEFAULT_PHOTO_STEM = "_default"
_HOT_FOLDERS = 16  # the folders changed last: stated on every scan
_RECENT_FILES = 256  # the files changed last: stated on every scan
_SETTLE_NS = 2_000_000_000
_SEED_FULL_SCAN_AFTER = 2000  # files: a start from saved listings stats them bit by bit
# A sweep cheaper than its budget runs on every scan (small stores); a dearer one is
# spaced out so that it costs at most about 1/factor of a core, and never more often.
_SWEEP_BUDGET, _SWEEP_FACTOR, _SWEEP_EVERY = 0.003, 400, 2.0
# A full stat of every file cheaper than this runs on every scan; a dearer one is
# replaced by listing folders again in turn, for _ROLL_SHARE of a core at most.
_FULL_BUDGET, _ROLL_SHARE = 0.01, 0.0025


UNREADABLE = "cannot read"  # the reason of every file that could not be opened or read
_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def not_regular(mode: int) -> str:
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
    return f"{UNREADABLE}: it is {kind}, not a regular file"


@dataclass(slots=True)
class Folder:
    """One folder's listing as of its mtime."""

    mtime_ns: int
    subfolders: list[str] = field(default_factory=list)
    texts: dict[str, FileStat] = field(default_factory=dict)
    photos: dict[str, FileStat] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    settled: bool = True  # listed well after its last change
    inode: tuple[int, int] = (0, 0)


@dataclass(slots=True)
class Changes:
    """What one scan found different: new stats by path, None for a file that is gone."""

    texts: dict[str, FileStat | None] = field(default_factory=dict)
    photos: dict[str, FileStat | None] = field(default_factory=dict)
    listed: list[str] = field(default_factory=list)  # folders listed again
    dropped: list[str] = field(default_factory=list)  # folders that are gone

    def __bool__(self) -> bool:
        return bool(self.texts or self.photos or self.listed or self.dropped)


def _diff(old: dict[str, FileStat], new: dict[str, FileStat],
          out: dict[str, FileStat | None]) -> None:
    for rel, st in new.items():
        if old.get(rel) != st:
            out[rel] = st
    for rel in old.keys() - new.keys():
        out[rel] = None


def inside(root: str, real: str) -> bool:
    """Whether a path with links resolved is the store root or under it."""
    return real == root or real.startswith(root + os.sep)


def list_folder(root: str, rel_dir: str, info: os.stat_result,
                display: Callable[[str], str]) -> Folder:
    """Stat every entry of one folder; no file is opened."""
    folder = Folder(info.st_mtime_ns, inode=(info.st_dev, info.st_ino),
                    settled=time.time_ns() - info.st_mtime_ns > _SETTLE_NS)
    try:
        listing = sorted(os.scandir(f"{root}/{rel_dir}" if rel_dir else root),
                         key=lambda item: item.name)
    except OSError:
        return folder
    for item in listing:
        name = item.name
        if name.startswith((".", "_")):
            continue
        rel = f"{rel_dir}/{name}" if rel_dir else name
        try:
            if item.is_symlink() and not inside(root, os.path.realpath(item.path)):
                folder.problems.append(Problem(
                    display(rel), "link leads outside the store; not followed", fatal=False))
                continue
            st = item.stat()
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            folder.subfolders.append(rel)  # in the order of the listing: names sorted
        elif stat.S_ISREG(st.st_mode):
            _add_file(folder, rel, name, st, display)
        elif name.lower().endswith(".txt"):
            folder.problems.append(Problem(display(rel), not_regular(st.st_mode)))
    return folder


def _add_file(folder: Folder, rel: str, name: str, st: os.stat_result,
              display: Callable[[str], str]) -> None:
    lower = name.lower()
    is_text = lower.endswith(".txt")
    if not is_text and not lower.endswith(PHOTO_EXTENSIONS):
        return
    bad_name = name_problem(name, os.path.splitext(name)[1])
    if bad_name is not None:
        folder.problems.append(Problem(display(rel), bad_name, fatal=is_text))
    elif is_text:
        folder.texts[rel] = FileStat(st.st_size, st.st_mtime_ns)
    else:
        folder.photos[rel] = FileStat(st.st_size, st.st_mtime_ns)


def restat(root: str, rel: str, display: Callable[[str], str]
           ) -> tuple[FileStat | None, Problem | None]:
    """A known file's stat now: None when gone, no longer a file, or a link out."""
    path = f"{root}/{rel}"
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            if not inside(root, os.path.realpath(path)):
                return None, Problem(display(rel), "link leads outside the store; not followed",
                                     fatal=False)
            info = os.stat(path)
    except OSError:
        return None, None
    if not stat.S_ISREG(info.st_mode):
        return None, None
    return FileStat(info.st_size, info.st_mtime_ns), None


def seeded(rows: Mapping[str, FolderRow],
           known: Callable[[str], tuple[str, FileStat] | None],
           photos: Mapping[str, PhotoRow]) -> dict[str, Folder]:
    """Folder listings saved by an earlier scan, with the stats their parse rows were made from.

    known(path) gives a text file's path (the string already in memory) and stat, if
    the index has its row. A listing is taken only when every file in it has its row;
    others are left out, to be listed afresh.
    """
    folders = {}
    for rel_dir, row in rows.items():
        folder = Folder(row.mtime)
        for name in row.names.split("\n") if row.names else ():
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if name.endswith("/"):
                folder.subfolders.append(rel[:-1])
                continue
            text = known(rel)
            photo = None if text else photos.get(rel)
            if text is not None:
                folder.texts[text[0]] = text[1]
            elif photo is not None:
                folder.photos[photo.path] = FileStat(photo.size, photo.mtime)
            else:
                break
        else:
            if row.mtime:
                folders[rel_dir] = folder
    return folders


def folder_row(rel_dir: str, folder: Folder, unread: Collection[str]) -> FolderRow:
    """A folder's listing to save; mtime 0 when the next start must list it again."""
    names = [rel.rpartition("/")[2] for rel in (*folder.texts, *folder.photos)]
    names += [rel.rpartition("/")[2] + "/" for rel in folder.subfolders]
    text = "\n".join(sorted(names))
    trusted = (folder.settled and not folder.problems and "\n" not in "".join(names)
               and not any(rel in unread for rel in folder.texts))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        trusted = False
    return FolderRow(rel_dir, folder.mtime_ns, text) if trusted else FolderRow(rel_dir, 0, "")


class Scanner:
    """The store's folder tree as last seen, and the walks that bring it up to date."""

    def __init__(self, root: str, display: Callable[[str], str]) -> None:
        self.root = root
        self.display = display
        self.folders: dict[str, Folder] = {}
        self.defaults: dict[str, FileStat] = {}  # _default.* at the root
        self.recent: set[str] = set()
        self.took = 0.0  # seconds the last scan took
        self.rolling = False  # a store too large for a full stat on every scan
        self.roll_share = _ROLL_SHARE
        self.roll_budget = 0.0  # seconds of listing due: grows with time, spent by _roll
        self._rolled_at = time.monotonic()
        self._round: list[str] = []  # folders left to list again in this round
        self._hot: list[str] | None = None
        self._unsettled: set[str] = set()  # listed within _SETTLE_NS of a change
        self._next_sweep = 0.0

    # -- one folder -----------------------------------------------------------

    def inside(self, real: str) -> bool:
        return inside(self.root, real)

    def path(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    # -- walks ----------------------------------------------------------------

    def scan(self, touched: Collection[str] = ()) -> Changes:
        """Bring the tree up to date; the walk's depth depends on the cadence above.

        touched: folders the kernel said changed (notify.py): listed again at once,
        which also catches an in-place edit of an old article there.
        """
        changes = Changes()
        started = time.monotonic()
        for rel_dir in touched:
            if rel_dir in self.folders:
                self._visit(rel_dir, changes, None, relist=True)
        if not self.rolling:
            self._walk(changes, relist=True)
            self._pick_recent()
            took = time.monotonic() - started
            self.rolling = took >= _FULL_BUDGET
            self._next_sweep = started + (0 if took < _SWEEP_BUDGET else _SWEEP_EVERY)
        elif started >= self._next_sweep:
            self._walk(changes, relist=False)
            took = time.monotonic() - started
            self._next_sweep = started + (0 if took < _SWEEP_BUDGET
                                          else max(_SWEEP_EVERY, _SWEEP_FACTOR * took))
        else:
            for rel_dir in self.hot_folders():
                if rel_dir in self.folders:
                    self._visit(rel_dir, changes, None, relist=False)
        if self.rolling:
            self._roll(changes)
        self._restat_recent(changes)
        self._check_defaults(changes)
        self.recent.update(rel for found in (changes.texts, changes.photos)
                           for rel, st in found.items() if st is not None)
        if len(self.recent) > _RECENT_FILES:
            self._trim_recent()
        if changes.listed or changes.dropped:
            self._hot = None
        self.took = time.monotonic() - started
        return changes

    def _roll(self, changes: Changes) -> None:
        """List a few more folders again, in turn: every file is stated once a round.

        The time spent is paid for by roll_budget, which grows by roll_share of the
        time passed: one huge folder waits until the budget has grown back.
        """
        now = time.monotonic()
        self.roll_budget = min(self.roll_budget + (now - self._rolled_at) * self.roll_share,
                               max(self.roll_budget, 10 * self.roll_share))
        self._rolled_at = now
        while self.roll_budget > 0:
            if not self._round:
                self._round = sorted(self.folders, reverse=True)  # popped from the end
                if not self._round:
                    return
            rel_dir = self._round.pop()
            if rel_dir in self.folders:
                self._visit(rel_dir, changes, None, relist=True)
            done = time.monotonic()
            self.roll_budget -= done - now
            now = done

    def _walk(self, changes: Changes, relist: bool) -> None:
        """Every folder from the root down: listed again when relist, else when changed."""
        self._visit("", changes, set(), relist)
        for rel_dir in [rel for rel in self.folders if rel and rel.rpartition("/")[0]
                        not in self.folders]:
            self._drop(rel_dir, changes)  # left under a folder that became a file

    def _visit(self, rel_dir: str, changes: Changes, seen: set[tuple[int, int]] | None,
               relist: bool) -> None:
        """Stat a folder, list it again if it changed, and go down.

        A walk of the whole tree (seen given) goes into every subfolder; a scan of
        the hot folders (seen None) goes only into subfolders that are new.
        """
        stack = [rel_dir]
        while stack:
            rel = stack.pop()
            old = self.folders.get(rel)
            try:
                info = os.stat(self.path(rel))
            except OSError:
                info = None
            if info is None or not stat.S_ISDIR(info.st_mode):
                self._drop(rel, changes)
                continue
            inode = (info.st_dev, info.st_ino)
            if self._walked_before(inode, old, seen):
                continue  # a link back to a folder already walked
            if relist or old is None or old.mtime_ns != info.st_mtime_ns or not old.settled:
                folder = list_folder(self.root, rel, info, self.display)
                self.folders[rel] = folder
                if folder.settled:
                    self._unsettled.discard(rel)
                else:
                    self._unsettled.add(rel)
                if old is None or (old.mtime_ns, old.subfolders, old.problems, old.settled) != (
                        folder.mtime_ns, folder.subfolders, folder.problems, folder.settled):
                    changes.listed.append(rel)
                _diff(old.texts if old else {}, folder.texts, changes.texts)
                _diff(old.photos if old else {}, folder.photos, changes.photos)
                for gone in set(old.subfolders if old else ()) - set(folder.subfolders):
                    self._drop(gone, changes)
                stack.extend(sub for sub in folder.subfolders
                             if seen is not None or sub not in self.folders)
            elif seen is not None:
                stack.extend(old.subfolders)

    def _walked_before(self, inode: tuple[int, int], old: Folder | None,
                       seen: set[tuple[int, int]] | None) -> bool:
        if seen is None:  # hot folders: only a new folder can be a loop
            if old is not None:
                return False
            seen = {folder.inode for folder in self.folders.values()}
        if inode in seen:
            return True
        seen.add(inode)
        return False

    def _drop(self, rel_dir: str, changes: Changes) -> None:
        """Forget a folder that is gone, with everything below it."""
        prefix = rel_dir + "/"
        for rel in [r for r in self.folders if r == rel_dir or r.startswith(prefix)]:
            folder = self.folders.pop(rel)
            self._unsettled.discard(rel)
            changes.dropped.append(rel)
            changes.texts.update(dict.fromkeys(folder.texts))
            changes.photos.update(dict.fromkeys(folder.photos))

    def hot_folders(self) -> list[str]:
        """The folders changed last, their parents (new folders show there) and the root."""
        if self._hot is None:
            newest = heapq.nlargest(_HOT_FOLDERS, self.folders.items(),
                                    key=lambda item: item[1].mtime_ns)
            hot = {""}
            for rel_dir, _ in newest:
                while rel_dir:
                    hot.add(rel_dir)
                    rel_dir = rel_dir.rpartition("/")[0]
            self._hot = sorted(hot)
        return self._hot + sorted(self._unsettled.difference(self._hot))

    def watch_order(self) -> list[str]:
        """Every folder, the hot ones first, then the newest first: the doorbell
        watches as many as it may, in this order."""
        hot = self.hot_folders()
        rest = set(self.folders).difference(hot)
        return hot + sorted(rest, key=lambda rel: self.folders[rel].mtime_ns, reverse=True)

    def _pick_recent(self) -> None:
        """After a full scan: remember the files modified last."""
        newest = heapq.nlargest(
            _RECENT_FILES,
            ((st.mtime_ns, rel) for folder in self.folders.values()
             for files in (folder.texts, folder.photos) for rel, st in files.items()))
        self.recent = {rel for _, rel in newest}

    def _trim_recent(self) -> None:
        """Keep the newest _RECENT_FILES of the recent files."""
        def mtime(rel: str) -> int:
            folder = self.folders.get(rel.rpartition("/")[0])
            st = folder and (folder.texts.get(rel) or folder.photos.get(rel))
            return st.mtime_ns if st else -1

        self.recent = set(heapq.nlargest(_RECENT_FILES, self.recent, key=mtime))

    def _restat_recent(self, changes: Changes) -> None:
        """Stat again the files changed last: the ones people edit in place."""
        for rel in list(self.recent):
            rel_dir = rel.rpartition("/")[0]
            folder = self.folders.get(rel_dir)
            is_text = folder is not None and rel in folder.texts
            if folder is None or not (is_text or rel in folder.photos):
                self.recent.discard(rel)
                continue
            st, problem = restat(self.root, rel, self.display)
            if st == (folder.texts if is_text else folder.photos)[rel]:
                continue
            # A new Folder, not an edit of the old one: a scan the guard refuses is undone.
            folder = Folder(folder.mtime_ns, folder.subfolders, dict(folder.texts),
                            dict(folder.photos), list(folder.problems), folder.settled,
                            folder.inode)
            self.folders[rel_dir] = folder
            files = folder.texts if is_text else folder.photos
            if st is None:
                self.recent.discard(rel)
                del files[rel]
            else:
                files[rel] = st
            if problem is not None:
                folder.problems.append(problem)
                changes.listed.append(rel_dir)
            (changes.texts if is_text else changes.photos)[rel] = st

    def _check_defaults(self, changes: Changes) -> None:
        """The store's own default image, _default.<ext> at the root."""
        found: dict[str, FileStat] = {}
        for ext in PHOTO_EXTENSIONS:
            rel = DEFAULT_PHOTO_STEM + ext
            try:
                if self.inside(os.path.realpath(self.path(rel))):
                    info = os.stat(self.path(rel))
                    if stat.S_ISREG(info.st_mode):
                        found[rel] = FileStat(info.st_size, info.st_mtime_ns)
            except OSError:
                continue
        if found != self.defaults:
            _diff(self.defaults, found, changes.photos)
            self.defaults = found

    # -- what the tree holds ----------------------------------------------------

    def seed(self, folders: dict[str, Folder], recent: set[str] | None = None) -> None:
        """Start from saved listings (see seeded, and resume.py, which also knows the
        files changed last): the next walk stats folders only."""
        self.folders = folders
        count = sum(len(f.texts) + len(f.photos) for f in folders.values())
        # In-place edits made while stopped show within the first round.
        self.rolling = count > _SEED_FULL_SCAN_AFTER
        if recent is None:
            self._pick_recent()
        else:
            self.recent = recent

    def text_count(self) -> int:
        return sum(len(folder.texts) for folder in self.folders.values())

    def checkpoint(self) -> tuple[dict[str, Folder], dict[str, FileStat]]:
        """The tree as it is, for restore() when a scan must be undone."""
        return dict(self.folders), self.defaults

    def restore(self, saved: tuple[dict[str, Folder], dict[str, FileStat]]) -> None:
        """Undo the scans since checkpoint(); the next scan lists every folder again."""
        self.folders, self.defaults = saved
        self._hot = None
        self.rolling = False  # the next scan lists every folder again

    def stat_of(self, rel: str) -> FileStat | None:
        """The file's size and mtime now."""
        try:
            info = os.stat(self.path(rel))
        except OSError:
            return None
        return FileStat(info.st_size, info.st_mtime_ns)

    def texts(self) -> Iterable[tuple[str, FileStat]]:
        for folder in self.folders.values():
            yield from folder.texts.items()

    def photos(self) -> Iterable[tuple[str, FileStat]]:
        for folder in self.folders.values():
            yield from folder.photos.items()
        yield from self.defaults.items()

    def problems(self) -> list[Problem]:
        return [problem for folder in self.folders.values() for problem in folder.problems]

    def newest_ns(self) -> int:
        """The newest folder mtime: a deletion shows only there."""
        return max((folder.mtime_ns for folder in self.folders.values()), default=0)
