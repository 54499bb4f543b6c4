"""Fitting a feed into an aggregator's size limit without losing the other entries.

One huge article used to push all but a couple of entries out of a feed
(the list was halved until it fit). Now an entry larger than its share of
the limit is trimmed (its text cut at a word, ending with "…"; the link
leads to the whole article), and only if the feed is still too large do the
oldest entries leave, one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from .render import Item

Render = Callable[[Sequence[Item]], bytes]

SHARE = 10  # one entry may take at most a tenth of the limit
ELLIPSIS = "…"


def fit(render: Render, items: list[Item], max_bytes: int) -> tuple[bytes, list[Item]]:
    """The rendered document and the items it holds, within max_bytes when it can be."""
    body = render(items)
    if len(body) <= max_bytes or not items:
        return body, items
    empty = len(render([]))
    share = max(1, (max_bytes - empty) // SHARE)
    items = [_trimmed(render, item, share, empty) for item in items]
    body = render(items)
    # Still too large (many large entries): keep the longest newest-first run that fits.
    low, high = 1, len(items)
    while low < high:
        middle = (low + high + 1) // 2
        if len(render(items[:middle])) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    if low < len(items):
        items = items[:low]
        body = render(items)
    return body, items


def _trimmed(render: Render, item: Item, share: int, empty: int) -> Item:
    """The item itself when it takes at most share bytes, else with its text cut to fit."""
    if len(render([item])) - empty <= share:
        return item
    text_length = sum(len(p) for p in item.article.paragraphs)
    low, high = 0, text_length  # characters kept: the most that still fits
    while low < high:
        middle = (low + high + 1) // 2
        if len(render([_cut(item, middle)])) - empty <= share:
            low = middle
        else:
            high = middle - 1
    return _cut(item, low)


def _cut(item: Item, keep: int) -> Item:
    """The item with only the first `keep` characters of its text, cut at a word."""
    paragraphs: list[str] = []
    for paragraph in item.article.paragraphs:
        if len(paragraph) <= keep:
            paragraphs.append(paragraph)
            keep -= len(paragraph)
            continue
        cut = paragraph[:keep].rpartition(" ")[0].rstrip()
        if cut:
            paragraphs.append(f"{cut} {ELLIPSIS}")
        elif paragraphs:
            paragraphs[-1] = f"{paragraphs[-1]} {ELLIPSIS}"
        else:
            paragraphs.append(ELLIPSIS)
        break
    else:
        return item
    return replace(item, article=replace(item.article, paragraphs=tuple(paragraphs)))
