"""OPML 2.0 subscription lists: one document per feed format, rubrics only.

Readers import every outline as a feed of its own and many keep one copy of
each guid: an OPML that listed RSS, Atom and JSON of a rubric (or "all news"
next to the rubrics) showed duplicate feeds, some of them empty. So each
document lists one format, and the rubric feeds alone, which together hold
every article once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from .formats import FORMATS


@dataclass(frozen=True, slots=True)
class Outline:
    """One feed in the list."""

    title: str
    xml_url: str
    html_url: str


def render_opml(site_title: str, fmt: str, outlines: Sequence[Outline],
                modified: datetime | None) -> bytes:
    """The OPML bytes; modified is the newest article's date, None for an empty store."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    suffix = "" if fmt == "rss" else f" ({FORMATS[fmt].label})"
    ET.SubElement(head, "title").text = f"{site_title}: ленты рубрик{suffix}"
    if modified is not None:
        ET.SubElement(head, "dateModified").text = modified.strftime("%a, %d %b %Y %H:%M:%S %z")
    body = ET.SubElement(root, "body")
    for outline in outlines:
        # OPML's type="rss" stands for any feed; only RSS has a version to give.
        element = ET.SubElement(body, "outline", type="rss", text=outline.title,
                                title=outline.title, xmlUrl=outline.xml_url,
                                htmlUrl=outline.html_url)
        if FORMATS[fmt].opml_version:
            element.set("version", FORMATS[fmt].opml_version)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
