"""?q=, ?exclude= and ?since= on any feed: a search of the whole archive, or a date cut."""

from __future__ import annotations

from .model import Entry, FeedRequest
from .search import Searcher
from .snapshot import Snapshot


def matching(searcher: Searcher, snapshot: Snapshot, request: FeedRequest, slug: str | None,
             now: float) -> list[Entry]:
    """Newest released entries of the feed that pass every filter of the request."""
    if request.query:
        page = searcher.find(snapshot, request.query, slug, now, request.limit,
                             since=request.since)
        return list(page.entries)
    found: list[Entry] = []
    for entry in snapshot.released(slug, now):
        if request.since is not None and entry.timestamp < request.since:
            break  # newest first: everything after is older still
        found.append(entry)
        if len(found) >= request.limit:
            break
    return found
