"""The app as tests build it: a fixed public origin, no background scanning."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from feeds.config import Settings
from feeds.web import create_app

BASE = "http://feeds.test"


def make_app(content: Path, cache: Path, **overrides: object) -> Flask:
    """The app over a store; files count at once (settle_time=0) unless a test says otherwise."""
    overrides.setdefault("settle_time", 0.0)
    settings = Settings(content_dir=content, cache_dir=cache, base_url=BASE, **overrides)  # type: ignore[arg-type]
    return create_app({"SETTINGS": settings, "WATCH": False, "TESTING": True})


def refresh(app: Flask) -> None:
    """Scan the store now, as the background thread would."""
    app.extensions["feeds"].store.refresh()
