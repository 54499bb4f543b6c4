"""An article at the size limit is trimmed; it never pushes the other entries out."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest

from feeds.publish import MAX_FEED_BYTES
from tests.conftest import make_app
from tests.storekit import write_article

HUGE_PARAGRAPH = "Очень длинный абзац о многом. " * 1580  # ~85 KB of UTF-8, no line break


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_one_huge_article_is_trimmed_and_the_rest_stay(tmp_path: Path, fmt: str) -> None:
    root = tmp_path / "store"
    for n in range(21):
        write_article(root, f"small{n:02d}", published=f"{n + 1} марта 2025, 10:00",
                      title=f"Новость {n}")
    huge = write_article(root, "huge", published="25 марта 2025, 10:00", title="Огромная",
                         paragraphs=[HUGE_PARAGRAPH * 12])  # its lead is all of it
    assert 1_000_000 < huge.stat().st_size < 1 << 20
    client = make_app(root, tmp_path / "cache", limit=50).test_client()
    body = client.get(f"/feeds/all.{fmt}").data
    assert len(body) <= MAX_FEED_BYTES
    if fmt == "json":
        items = json.loads(body)["items"]
        titles = [item["title"] for item in items]
        huge_text = items[0]["content_html"]
    else:
        entries = feedparser.parse(body).entries
        titles = [entry.title for entry in entries]
        huge_text = entries[0].content[0].value
    assert len(titles) == 22
    assert titles[0] == "Огромная"
    assert huge_text.rstrip("</p>\n").endswith("…")
    assert len(huge_text) < MAX_FEED_BYTES // 10
