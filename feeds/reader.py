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
from .scan import UNREADABLE, FileStat

_ARTICLES_KEPT = 1024  # parsed article bodies kept per process ...
_ARTICLE_BYTES = 24 << 20  # ... and what they hold at most (counted as 3 x the file size)


def read_regular(path: str, limit: int) -> bytes:
    """Up to limit bytes of a regular file; a FIFO or device never blocks the scan."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return fh.read(limit)


class ArticleReader:
    """Reads the store's text files, as the store names them (relative paths)."""

    def __init__(self, display: Callable[[str], str], absolute: Callable[[str], str],
                 inside: Callable[[str], bool], max_article_bytes: int) -> None:
        self.display, self.absolute, self.inside = display, absolute, inside
        self.max_article_bytes = max_article_bytes
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
        if not self.inside(path):
            return Reading(None, Problem(display, "link leads outside the store; not followed"))
        try:
            data = read_regular(path, self.max_article_bytes + 1)
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
