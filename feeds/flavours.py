"""RSS flavours for aggregators with their own rules: Yandex News and Dzen.

Both are plain RSS 2.0 underneath (built with feedgen like the main feeds),
with the namespace elements and limits each publisher guide asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from feedgen.feed import FeedGenerator
from lxml import etree

from .render import MEDIA_NS, FeedMeta, Item, _Hooks, _sub, drop_build_date, feed_time

YANDEX_NS = "http://news.yandex.ru"


@dataclass(frozen=True, slots=True)
class Flavour:
    """An aggregator's profile: how far back it looks, how many items, how many bytes."""

    name: str
    days: int
    max_items: int
    max_bytes: int
    render: Callable[[FeedMeta, Sequence[Item], str], bytes]
    extension: str = "rss"  # the format it is a flavour of


def _base(meta: FeedMeta, namespaces: dict[str, str],
          items: Sequence[Item]) -> tuple[FeedGenerator, _Hooks]:
    fg = FeedGenerator()
    fg.register_extension("hooks", _Hooks, _Hooks)
    hooks: _Hooks = fg.hooks  # type: ignore[attr-defined]
    hooks.namespaces.update(namespaces)
    if not items:
        hooks.rss.append(drop_build_date)
    fg.title(meta.title)
    fg.description(meta.description)
    fg.language(meta.language)
    fg.lastBuildDate(feed_time(meta.updated))
    fg.generator("БЕЛТА feeds")
    fg.docs("https://www.rssboard.org/rss-specification")
    fg.image(url=meta.icon_url, title=meta.title, link=meta.html_url, width="96", height="96")
    fg.link(href=meta.self_url, rel="self")
    fg.link(href=meta.html_url, rel="alternate")
    return fg, hooks


def _entry(fg: FeedGenerator, item: Item, description: str, content: str | None = None) -> _Hooks:
    fe = fg.add_entry(order="append")
    fe.guid(item.guid, permalink=False)
    fe.title(item.article.title)
    fe.link(href=item.url)
    fe.description(escape(description))  # RSS description is read as HTML
    if content is not None:
        fe.content(content, type="html")
    fe.pubDate(feed_time(item.article.published))
    fe.category(term=item.article.rubric)
    fe.enclosure(item.photo_url, str(item.photo.size), item.photo.mime_type)
    return fe.hooks  # type: ignore[no-any-return]


def render_yandex(meta: FeedMeta, items: Sequence[Item], wide_logo_url: str) -> bytes:
    """Yandex News: yandex:full-text in plain text, pdalink, one category, logos."""
    fg, hooks = _base(meta, {"yandex": YANDEX_NS, "media": MEDIA_NS}, items)

    def channel_logos(rss: etree._Element) -> None:
        channel = rss.find("channel")
        assert channel is not None
        _sub(channel, f"{{{YANDEX_NS}}}logo", wide_logo_url)
        _sub(channel, f"{{{YANDEX_NS}}}logo", meta.logo_url, type="square")

    hooks.rss.append(channel_logos)
    for item in items:
        entry_hooks = _entry(fg, item, item.article.lead)

        def yandex_item(element: etree._Element, item: Item = item) -> None:
            _sub(element, f"{{{YANDEX_NS}}}pdalink", item.url)
            _sub(element, f"{{{YANDEX_NS}}}genre", "message")
            _sub(element, f"{{{YANDEX_NS}}}full-text", item.article.text_without_dateline)

        entry_hooks.rss.append(yandex_item)
    return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)  # type: ignore[no-any-return]


def dzen_html(item: Item) -> str:
    """Dzen wants the photo as <figure><img> inside the article's HTML."""
    caption = (f"<figcaption>{escape(item.article.credit)}</figcaption>"
               if item.has_own_photo and item.article.credit else "")
    figure = (f'<figure><img src="{escape(item.photo_url)}"'
              f' alt="{escape(item.article.title)}">{caption}</figure>')
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in item.article.paragraphs)
    return figure + paragraphs


def render_dzen(meta: FeedMeta, items: Sequence[Item], wide_logo_url: str) -> bytes:
    """Dzen: full HTML with the photo as a figure, media:rating, publication categories."""
    fg, _ = _base(meta, {"media": MEDIA_NS}, items)
    for item in items:
        entry_hooks = _entry(fg, item, item.article.lead, dzen_html(item))

        def dzen_item(element: etree._Element, item: Item = item) -> None:
            for term in ("format-article", "index", "comment-all"):
                _sub(element, "category", term)
            _sub(element, f"{{{MEDIA_NS}}}rating", "nonadult", scheme="urn:simple")

        entry_hooks.rss.append(dzen_item)
    return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)  # type: ignore[no-any-return]


FLAVOURS = {
    # Yandex News takes articles up to eight days old; files up to 10 MB.
    "yandex": Flavour("yandex", days=8, max_items=500, max_bytes=10_000_000,
                      render=render_yandex),
    # Dzen reads the last three days, at most 500 items.
    "dzen": Flavour("dzen", days=3, max_items=500, max_bytes=10_000_000, render=render_dzen),
}
