"""RSS flavours for aggregators with their own rules: Yandex News and Dzen.

Both are plain RSS 2.0 underneath (built with feedgen like the main feeds),
with the namespace elements and limits each publisher guide asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from feedgen.feed import FeedEntry
from lxml import etree

from .render import MEDIA_NS, FeedMeta, FeedWriter, Item, sub

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


class YandexFeed(FeedWriter):
    """Yandex News: yandex:full-text in plain text, pdalink, one category, logos."""

    def __init__(self, meta: FeedMeta, wide_logo_url: str) -> None:
        super().__init__(meta)
        self.wide_logo_url = wide_logo_url

    def namespaces(self) -> dict[str, str]:
        return {"yandex": YANDEX_NS, "media": MEDIA_NS}

    def add_root_elements(self, root: etree._Element) -> None:
        sub(root, f"{{{YANDEX_NS}}}logo", self.wide_logo_url)
        sub(root, f"{{{YANDEX_NS}}}logo", self.meta.logo_url, type="square")

    def add_item_elements(self, element: etree._Element, item: Item) -> None:
        sub(element, f"{{{YANDEX_NS}}}pdalink", item.url)
        sub(element, f"{{{YANDEX_NS}}}genre", "message")
        sub(element, f"{{{YANDEX_NS}}}full-text", item.article.text_without_dateline)


def render_yandex(meta: FeedMeta, items: Sequence[Item], wide_logo_url: str) -> bytes:
    return YandexFeed(meta, wide_logo_url).render(items)


def dzen_html(item: Item) -> str:
    """Dzen wants the photo as <figure><img> inside the article's HTML."""
    caption = (f"<figcaption>{escape(item.article.credit)}</figcaption>"
               if item.has_own_photo and item.article.credit else "")
    figure = (f'<figure><img src="{escape(item.photo_url)}"'
              f' alt="{escape(item.article.title)}">{caption}</figure>')
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in item.article.paragraphs)
    return figure + paragraphs


class DzenFeed(FeedWriter):
    """Dzen: full HTML with the photo as a figure, media:rating, publication categories."""

    def namespaces(self) -> dict[str, str]:
        return {"media": MEDIA_NS}

    def add_item_fields(self, fe: FeedEntry, item: Item) -> None:
        super().add_item_fields(fe, item)
        fe.content(dzen_html(item), type="html")

    def add_item_elements(self, element: etree._Element, item: Item) -> None:
        for term in ("format-article", "index", "comment-all"):
            sub(element, "category", term)
        sub(element, f"{{{MEDIA_NS}}}rating", "nonadult", scheme="urn:simple")


def render_dzen(meta: FeedMeta, items: Sequence[Item], wide_logo_url: str) -> bytes:
    return DzenFeed(meta).render(items)


FLAVOURS = {
    # Yandex News takes articles up to eight days old; files up to 10 MB.
    "yandex": Flavour("yandex", days=8, max_items=500, max_bytes=10_000_000,
                      render=render_yandex),
    # Dzen reads the last three days, at most 500 items.
    "dzen": Flavour("dzen", days=3, max_items=500, max_bytes=10_000_000, render=render_dzen),
}
