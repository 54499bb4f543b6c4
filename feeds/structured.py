"""What search engines and social networks read from an article page's head.

Open Graph tags and a schema.org NewsArticle in JSON-LD, built from the same
Item as the feeds: pure functions, no Flask.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .render import Item, iso_time

HEADLINE_MAX = 110  # Google's limit for a NewsArticle headline


@dataclass(frozen=True, slots=True)
class Publisher:
    name: str
    url: str
    logo_url: str


def open_graph(item: Item, canonical: str, site_name: str) -> list[tuple[str, str]]:
    """(property, content) pairs for <meta property=...>."""
    tags = [("og:type", "article"), ("og:site_name", site_name), ("og:locale", "ru_RU"),
            ("og:title", item.article.title), ("og:description", item.article.lead),
            ("og:url", canonical), ("og:image", item.photo_url),
            ("og:image:type", item.photo.mime_type)]
    if item.photo.width and item.photo.height:
        tags += [("og:image:width", str(item.photo.width)),
                 ("og:image:height", str(item.photo.height))]
    tags += [("article:published_time", iso_time(item.article.published)),
             ("article:section", item.article.rubric)]
    return tags


def headline(title: str) -> str:
    if len(title) <= HEADLINE_MAX:
        return title
    return title[: HEADLINE_MAX - 1].rstrip() + "…"


def news_article(item: Item, canonical: str, publisher: Publisher) -> dict[str, object]:
    """schema.org NewsArticle as Google's article guide describes it."""
    published = iso_time(item.article.published)
    document: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
        "url": canonical,
        "headline": headline(item.article.title),
        "description": item.article.lead,
        "datePublished": published,
        "dateModified": published,
        "articleSection": item.article.rubric,
        "inLanguage": "ru",
        "image": [item.photo_url],
        "author": [{"@type": "Organization", "name": item.author, "url": publisher.url}],
        "publisher": {"@type": "Organization", "name": publisher.name, "url": publisher.url,
                      "logo": {"@type": "ImageObject", "url": publisher.logo_url}},
    }
    return document


def json_ld(document: dict[str, object]) -> str:
    """JSON for a <script> element: with every "<" escaped, nothing can close it early."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c")
