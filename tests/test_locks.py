"""The lock file that picks one process to speak or ping for all."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.locks import take_lock


def test_one_holder_at_a_time(tmp_path: Path) -> None:
    first = take_lock(tmp_path / "x.lock")
    assert first is not None
    assert take_lock(tmp_path / "x.lock") is None  # flock: per open file, even in one process
    first.close()
    again = take_lock(tmp_path / "x.lock")
    assert again is not None
    again.close()


def test_a_lock_that_cannot_be_opened_says_so(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        take_lock(tmp_path / "missing" / "x.lock")
