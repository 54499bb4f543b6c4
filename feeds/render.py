"""Articles to bytes: RSS 2.0 and Atom through feedgen, JSON Feed 1.1 by hand.

Nothing here knows about HTTP or files: callers pass fully resolved URLs and
articles, so the same input always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache, partial
from html import escape

from feedgen.feed import FeedEntry, FeedGenerator
from lxml import etree

from .model import Article, Entry, Photo

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
WEBFEEDS_NS = "http://webfeeds.org/rss/1.0"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
DC_NS = "http://purl.org/dc/elements/1.1/"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
GENERATOR = "БЕЛТА feeds"


@dataclass(frozen=True, slots=True)
class Item:
    """One article as it goes into a feed, with every URL already absolute."""

    article: Article
    entry: Entry
    url: str  # the entry's link
    guid: str  # permanent, never derived from the host
    photo: Photo  # the article's photo or the store's default image
    photo_url: str
    has_own_photo: bool
    rubric_url: str = ""

    @property
    def author(self) -> str:
        return self.article.source or "БЕЛТА"


@dataclass(frozen=True, slots=True)
class FeedMeta:
    """Everything about a feed document that is not its entries."""

    feed_id: str
    title: str
    description: str
    html_url: str
    self_url: str
    updated: datetime
    icon_url: str
    logo_url: str
    author: str = "БЕЛТА"
    language: str = "ru"
    accent_color: str = "0F6B3A"
    hubs: tuple[str, ...] = ()
    prev_archive: str | None = None
    next_archive: str | None = None
    current: str | None = None
    is_archive: bool = False


def feed_time(moment: datetime) -> datetime:
    """Keep the Minsk offset unless it has seconds (pre-1924), which no feed format allows.

    The offset is fixed on the result: feedgen asks a date for it several times, and
    a zone read from the tz database answers in Python each time.
    """
    offset = moment.utcoffset()
    if offset is None:
        return moment
    if offset % timedelta(minutes=1):
        return moment.astimezone(UTC)
    return moment.replace(tzinfo=_fixed_zone(offset))


@lru_cache(maxsize=64)
def _fixed_zone(offset: timedelta) -> timezone:
    return timezone(offset)


def iso_time(moment: datetime) -> str:
    return feed_time(moment).isoformat()


def content_html(item: Item) -> str:
    """The body as HTML paragraphs, the photo on top for readers that ignore enclosures."""
    parts = []
    if item.has_own_photo:
        size = ""
        if item.photo.width and item.photo.height:
            size = f' width="{item.photo.width}" height="{item.photo.height}"'
        caption = (f"<figcaption>{escape(item.article.credit)}</figcaption>"
                   if item.article.credit else "")
        parts.append(f'<figure><img src="{escape(item.photo_url)}"'
                     f' alt="{escape(item.article.title)}"{size}>{caption}</figure>')
    parts.extend(f"<p>{escape(paragraph)}</p>" for paragraph in item.article.paragraphs)
    return "\n".join(parts)


# -- feedgen plumbing ----------------------------------------------------------


class _Hooks:
    """A feedgen extension that runs our callbacks on the finished XML elements."""

    def __init__(self) -> None:
        self.namespaces: dict[str, str] = {}
        self.rss: list[Callable[[etree._Element], None]] = []
        self.atom: list[Callable[[etree._Element], None]] = []

    def extend_ns(self) -> dict[str, str]:
        return self.namespaces

    def extend_rss(self, element: etree._Element) -> etree._Element:
        for hook in self.rss:
            hook(element)
        return element

    def extend_atom(self, element: etree._Element) -> etree._Element:
        for hook in self.atom:
            hook(element)
        return element


def drop_build_date(rss: etree._Element) -> None:
    """An empty RSS feed has no build date to tell: none rather than a made-up one."""
    channel = rss.find("channel")
    assert channel is not None
    for element in channel.findall("lastBuildDate"):
        channel.remove(element)


def sub(parent: etree._Element, tag: str, text: str | None = None,
        **attrib: str) -> etree._Element:
    """Append an element; attributes with empty values are left out."""
    element = etree.SubElement(parent, tag, {k: v for k, v in attrib.items() if v})
    if text is not None:
        element.text = text
    return element


class FeedWriter:
    """The feedgen setup every feed of ours shares; variants override the named hooks.

    As in Django's feedgenerator: `add_root_elements` and `add_item_elements`
    add our own XML after feedgen has written its part; `add_channel_fields`
    and `add_item_fields` fill feedgen's fields. The base is a plain RSS 2.0
    channel and item, what the aggregator flavours build on.
    """

    for_atom = False

    def __init__(self, meta: FeedMeta) -> None:
        self.meta = meta

    def namespaces(self) -> dict[str, str]:
        return {}

    def add_channel_fields(self, fg: FeedGenerator) -> None:
        meta = self.meta
        fg.title(meta.title)
        fg.description(meta.description)
        fg.language(meta.language)
        fg.lastBuildDate(feed_time(meta.updated))
        fg.generator(GENERATOR)
        fg.docs("https://www.rssboard.org/rss-specification")
        fg.image(url=meta.icon_url, title=meta.title, link=meta.html_url, width="96",
                 height="96")
        fg.link(href=meta.self_url, rel="self")
        fg.link(href=meta.html_url, rel="alternate")

    def add_root_elements(self, root: etree._Element) -> None:
        """Our elements on <channel> (RSS) or <feed> (Atom)."""

    def add_item_fields(self, fe: FeedEntry, item: Item) -> None:
        fe.guid(item.guid, permalink=False)
        fe.title(item.article.title)
        fe.link(href=item.url)
        fe.description(escape(item.article.lead))  # RSS description is read as HTML
        fe.pubDate(feed_time(item.article.published))
        fe.category(term=item.article.rubric)
        fe.enclosure(item.photo_url, str(item.photo.size), item.photo.mime_type)

    def add_item_elements(self, element: etree._Element, item: Item) -> None:
        """Our elements on each <item> (RSS) or <entry> (Atom)."""

    def generator(self, items: Sequence[Item]) -> FeedGenerator:
        """feedgen with the fields set and the hooks in place, items in order."""
        fg = FeedGenerator()
        fg.register_extension("hooks", _Hooks, _Hooks)
        hooks: _Hooks = fg.hooks  # type: ignore[attr-defined]
        hooks.namespaces.update(self.namespaces())
        self.add_channel_fields(fg)
        hooks.rss.append(self._channel_elements)
        hooks.atom.append(self.add_root_elements)
        if not items:
            hooks.rss.append(drop_build_date)
        for item in items:
            fe = fg.add_entry(order="append")
            self.add_item_fields(fe, item)
            entry_hooks: _Hooks = fe.hooks  # type: ignore[attr-defined]
            entry_hooks.rss.append(partial(self.add_item_elements, item=item))
            entry_hooks.atom.append(partial(self.add_item_elements, item=item))
        return fg

    def _channel_elements(self, rss: etree._Element) -> None:
        channel = rss.find("channel")
        assert channel is not None
        self.add_root_elements(channel)

    def render(self, items: Sequence[Item]) -> bytes:
        fg = self.generator(items)
        if self.for_atom:
            return fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)  # type: ignore[no-any-return]
        return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)  # type: ignore[no-any-return]


def _media(parent: etree._Element, item: Item) -> None:
    """Media RSS: the thumbnail many aggregators read, with the credit."""
    photo = item.photo
    content = sub(parent, f"{{{MEDIA_NS}}}content", url=item.photo_url,
                  type=photo.mime_type, medium="image", fileSize=str(photo.size),
                  width=str(photo.width or ""), height=str(photo.height or ""))
    if item.has_own_photo and item.article.credit:
        sub(content, f"{{{MEDIA_NS}}}credit", item.article.credit)


def _webfeeds(parent: etree._Element, meta: FeedMeta) -> None:
    """Feedly's namespace: icon, logo and colour for the source's card."""
    sub(parent, f"{{{WEBFEEDS_NS}}}icon", meta.icon_url)
    sub(parent, f"{{{WEBFEEDS_NS}}}logo", meta.logo_url)
    sub(parent, f"{{{WEBFEEDS_NS}}}accentColor", meta.accent_color)
    sub(parent, f"{{{WEBFEEDS_NS}}}related", layout="card", target="browser")


def _feed_links(meta: FeedMeta) -> list[tuple[str, str]]:
    links = [("hub", hub) for hub in meta.hubs]
    for rel, href in (("current", meta.current), ("prev-archive", meta.prev_archive),
                      ("next-archive", meta.next_archive)):
        if href:
            links.append((rel, href))
    return links


class MainFeed(FeedWriter):
    """Our own RSS 2.0 and Atom: archive links, Media RSS, Feedly's card, full content."""

    def __init__(self, meta: FeedMeta, for_atom: bool) -> None:
        super().__init__(meta)
        self.for_atom = for_atom

    def namespaces(self) -> dict[str, str]:
        namespaces = {"media": MEDIA_NS, "webfeeds": WEBFEEDS_NS, "dc": DC_NS}
        if self.meta.is_archive:
            namespaces["fh"] = HISTORY_NS
        return namespaces

    def add_channel_fields(self, fg: FeedGenerator) -> None:
        meta = self.meta
        fg.id(meta.feed_id)
        fg.title(self.text(meta.title))
        fg.subtitle(meta.description)
        fg.language(meta.language)
        fg.author({"name": meta.author, "uri": meta.html_url})
        fg.updated(feed_time(meta.updated))
        fg.generator(GENERATOR)
        fg.icon(meta.icon_url)
        fg.logo(meta.logo_url)
        fg.image(url=meta.icon_url, title=self.text(meta.title), link=meta.html_url,
                 width="96", height="96")
        fg.docs("https://www.rssboard.org/rss-specification")
        fg.link(href=meta.self_url, rel="self", type=None)
        if self.for_atom:
            for rel, href in _feed_links(meta):
                fg.link(href=href, rel=rel)
        fg.link(href=meta.html_url, rel="alternate", type="text/html")

    def text(self, value: str) -> str:
        """A title as the format carries it: Atom says text; RSS titles are read as HTML by
        most readers (feedparser included), so & and < are escaped as in <description>."""
        return value if self.for_atom else escape(value, quote=False)

    def add_root_elements(self, root: etree._Element) -> None:
        if not self.for_atom:  # Atom has these as feedgen links already
            for rel, href in _feed_links(self.meta):
                sub(root, f"{{{ATOM_NS}}}link", rel=rel, href=href)
        if self.meta.is_archive:
            sub(root, f"{{{HISTORY_NS}}}archive")
        _webfeeds(root, self.meta)

    def add_item_fields(self, fe: FeedEntry, item: Item) -> None:
        article = item.article
        fe.id(item.guid)
        fe.guid(item.guid, permalink=False)
        fe.title(self.text(article.title))
        fe.link(href=item.url, rel="alternate", type="text/html")
        published = feed_time(article.published)
        fe.published(published)
        fe.updated(published)
        if self.for_atom:
            fe.summary(article.lead)  # Atom text: the reader escapes it
        else:
            fe.description(escape(article.lead))  # RSS description is HTML to every reader
        fe.content(content_html(item), type="html")
        fe.category(term=article.rubric, scheme=item.rubric_url or None)
        if not self.for_atom:
            # feedgen 1.0 writes Atom enclosures as bare links, so only RSS gets them here.
            fe.enclosure(item.photo_url, str(item.photo.size), item.photo.mime_type)
        else:
            fe.author({"name": item.author})

    def add_item_elements(self, element: etree._Element, item: Item) -> None:
        if self.for_atom:
            # feedgen builds Atom elements without a namespace; ours must match.
            sub(element, "link", rel="enclosure", href=item.photo_url,
                type=item.photo.mime_type, length=str(item.photo.size))
        else:
            sub(element, f"{{{DC_NS}}}creator", item.author)
        _media(element, item)


# -- the three formats -----------------------------------------------------------


def render_rss(meta: FeedMeta, items: Sequence[Item]) -> bytes:
    """RSS 2.0 with content:encoded, Media RSS and atom:link self."""
    return MainFeed(meta, for_atom=False).render(items)


def render_atom(meta: FeedMeta, items: Sequence[Item]) -> bytes:
    """Atom (RFC 4287) with enclosure links that keep rel, type and length."""
    return MainFeed(meta, for_atom=True).render(items)


def json_item(item: Item) -> dict[str, object]:
    article = item.article
    return {
        "id": item.guid,
        "url": item.url,
        "title": article.title,
        "summary": article.lead,
        "content_html": content_html(item),
        "image": item.photo_url,
        "date_published": iso_time(article.published),
        "date_modified": iso_time(article.published),
        "authors": [{"name": item.author}],
        "tags": [article.rubric],
        "language": "ru",
        "attachments": [{
            "url": item.photo_url,
            "mime_type": item.photo.mime_type,
            "size_in_bytes": item.photo.size,
        }],
    }


def render_json(meta: FeedMeta, items: Sequence[Item]) -> bytes:
    """JSON Feed 1.1; an archive page's next_url points further back in time."""
    document: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": meta.title,
        "home_page_url": meta.html_url,
        "feed_url": meta.self_url,
        "description": meta.description,
        "icon": meta.logo_url,
        "favicon": meta.icon_url,
        "language": meta.language,
        "authors": [{"name": meta.author, "url": meta.html_url}],
    }
    if meta.prev_archive:
        document["next_url"] = meta.prev_archive
    if meta.hubs:
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in meta.hubs]
    document["items"] = [json_item(item) for item in items]
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"

