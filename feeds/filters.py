"""?q=, ?exclude= and ?since= on any feed: plain word matching over recent articles."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .model import Article, Entry, FeedRequest

# Filtering reads article bodies, so it looks at this many recent entries at most.
SCAN_LIMIT = 2000


def fold(text: str) -> str:
    """Case- and ё-insensitive form of Russian text for matching."""
    return text.casefold().replace("ё", "е")


def matching(read: Callable[[Entry], Article | None], released: Sequence[Entry],
             request: FeedRequest, limit: int) -> list[Entry]:
    """Newest released entries that pass every filter; read gives an entry's article.

    The request's words come folded (see respond._words); only the text is folded here.
    """
    words, exclude = request.words, request.exclude
    found: list[Entry] = []
    for entry in released[:SCAN_LIMIT]:
        if request.since is not None and entry.timestamp < request.since:
            break  # newest first: everything after is older still
        if words or exclude:
            article = read(entry)
            if article is None:
                continue
            text = fold(" ".join((article.title, *article.paragraphs)))
            if not all(word in text for word in words):
                continue
            if any(word in text for word in exclude):
                continue
        found.append(entry)
        if len(found) >= limit:
            break
    return found
