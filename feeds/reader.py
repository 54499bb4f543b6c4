"""The one article reader: a text file of the store to a parsed Article, and the body cache.

The scan reads every new or changed file through `read` (what it finds goes to
the index); a request for an article's page or a full-text feed asks `article`,
which keeps the parsed bodies of the files asked for most recently.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

from .bounded import Bounded
from .catalog import Reading
from .model import Article, Entry, Problem
from .parse import ParseError, decode_article, parse_article
from .scan import UNREADABLE, FileStat, inside

_ARTICLES_KEPT = 1024  # parsed article bodies kept per process ...
_ARTICLE_BYTES = 24 << 20  # ... and what they hold at most (counted as 3 x the file size)


_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY  # a FIFO or device never blocks
# Linux: a folder opened only to name it (no read, no side effect) and its path as
# the kernel resolved it; elsewhere every component is resolved with lstat.
_PATH_ONLY = getattr(os, "O_PATH", 0)
_RESOLVED = "/proc/self/fd/{}"


def read_open(fd: int, limit: int) -> bytes:
    """Up to limit bytes of an open regular file, which is then closed."""
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return fh.read(limit)


def open_inside(path: str, root: str) -> int | None:
    """path opened for reading if, links followed, it is inside root (else None).

    Its folder is resolved by the kernel (one open and one readlink, where the
    realpath of a file five folders deep costs seven lstat calls in Python), and
    the file is opened in that very folder without following a link; a file that
    is itself a link is resolved in full. Nothing outside root is ever opened.
    """
    folder, name = os.path.split(path)
    folder_fd = os.open(folder, _PATH_ONLY | os.O_DIRECTORY)
    try:
        if not inside(root, os.readlink(_RESOLVED.format(folder_fd))):
            return None
        try:
            return os.open(name, _READ_FLAGS | os.O_NOFOLLOW, dir_fd=folder_fd)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
    finally:
        os.close(folder_fd)
    # The file is a link: where it leads, links followed.
    return os.open(path, _READ_FLAGS) if inside(root, os.path.realpath(path)) else None


class ArticleReader:
    """Reads the store's text files, as the store names them (relative paths)."""

    def __init__(self, display: Callable[[str], str], absolute: Callable[[str], str],
                 inside: Callable[[str], bool], max_article_bytes: int,
                 root: str | None = None) -> None:
        """inside: whether a path, links followed, is in the store; with root (the
        store's real path) on Linux, that is checked on the open file instead."""
        self.display, self.absolute, self.inside = display, absolute, inside
        self.max_article_bytes = max_article_bytes
        self.root = root if _PATH_ONLY and os.path.isdir("/proc/self/fd") else None
        # Parsed bodies by (path, size, mtime): bounded by count and by the files' sizes.
        self._articles: Bounded[tuple[str, int, int], Article | None] = Bounded(
            _ARTICLES_KEPT, _ARTICLE_BYTES, lambda key, _article: 3 * key[1] + len(key[0]))

    def read(self, rel: str, expected: FileStat | None = None) -> Reading:
        """Read and parse one text file; with expected, a file that changed meanwhile is
        reported as neither article nor problem, and an oversized one is not opened."""
        display = self.display(rel)
        if expected is not None and expected.size > self.max_article_bytes:
            return Reading(None, Problem(display, f"file is {expected.size} bytes, over the"
                                         f" {self.max_article_bytes} byte limit; skipped"))
        path = self.absolute(rel)
        outside = Reading(None, Problem(display, "link leads outside the store; not followed"))
        if self.root is None and not self.inside(path):
            return outside
        try:
            fd = os.open(path, _READ_FLAGS) if self.root is None else open_inside(path, self.root)
            if fd is None:
                return outside
            data = read_open(fd, self.max_article_bytes + 1)
            after = os.stat(path)
        except FileNotFoundError:
            return Reading(None, Problem(display, "vanished while the store was being read"),
                           passing=True)
        except OSError as exc:
            return Reading(None, Problem(display, f"{UNREADABLE}: {exc.strerror or exc}"))
        if expected is not None and (after.st_size != expected.size or len(data) != expected.size
                                     or after.st_mtime_ns != expected.mtime_ns):
            return Reading(None, None)
        text, warning = decode_article(data)
        try:
            return Reading(parse_article(text, os.path.basename(rel)[:-4], display), None,
                           warning)
        except ParseError as exc:
            return Reading(None, Problem(display, exc.reason, exc.line))

    def article(self, entry: Entry) -> Article | None:
        """The whole parsed article for an index entry, or None if it no longer parses."""
        key = (entry.path, entry.size, entry.mtime_ns)  # size and mtime only key the cache
        found = self._articles.get(key)
        if found is None:
            found = self.read(entry.path).article
            if found is not None:  # one that cannot be read now (a lost store) is tried again
                self._articles.put(key, found)
        return found
