"""The README documents every setting and every feed URL the code knows."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented() -> None:
    code = (ROOT / "feeds" / "config.py").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    settings = set(re.findall(r'"(FEEDS_[A-Z_]+)"', code))
    assert len(settings) >= 10
    assert {s for s in settings if f"`{s}`" not in readme} == set()


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
