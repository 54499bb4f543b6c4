"""Cache keys are counted by what they own: strings and plain tuples, not the store's entries."""

from __future__ import annotations

from feeds.bounded import key_bytes
from feeds.model import Entry, FileStat


def test_entries_in_a_key_count_as_references() -> None:
    entry = Entry("a1", "2025/a1.txt", "Общество" * 100, "society", 1.7e9, FileStat(10, 20))
    assert key_bytes(("feed", (entry, entry))) == 2 * 8 + 4 + 2 * 8
    assert key_bytes(("feed", ("ab", ("c",)))) == 2 * 8 + 4 + 2 * 8 + 2 + 8 + 1
