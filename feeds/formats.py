"""The one registry of feed formats, keyed by the URL's extension (datasette's renderers).

Everything the service knows about a format is in its row: how to render it,
its media type, the label pages and the OPML show. A new format is a new row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .render import FeedMeta, Item, render_atom, render_json, render_rss

# The two documents that are not feeds.
HTML_TYPE = "text/html; charset=utf-8"
OPML_TYPE = "text/x-opml; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Format:
    """One feed format: its extension, renderer, media type and label."""

    extension: str
    label: str  # what readers call it, on pages and in the OPML
    media_type: str  # without parameters, as <link type> wants it
    render: Callable[[FeedMeta, Sequence[Item]], bytes]
    opml_version: str = ""  # OPML knows only RSS versions; others go without one

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


FORMATS: dict[str, Format] = {f.extension: f for f in (
    Format("rss", "RSS", "application/rss+xml", render_rss, opml_version="RSS2"),
    Format("atom", "Atom", "application/atom+xml", render_atom),
    Format("json", "JSON Feed", "application/feed+json", render_json),
)}
