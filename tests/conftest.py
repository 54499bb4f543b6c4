from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from feeds.config import Settings
from feeds.web import create_app
from tests.storekit import tiny_store

BASE = "http://feeds.test"


def make_app(content: Path, cache: Path, **overrides: object) -> Flask:
    """The app over a store; files count at once (settle_time=0) unless a test says otherwise."""
    overrides.setdefault("settle_time", 0.0)
    settings = Settings(content_dir=content, cache_dir=cache, base_url=BASE, **overrides)  # type: ignore[arg-type]
    return create_app({"SETTINGS": settings, "WATCH": False, "TESTING": True})


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tiny_store(tmp_path / "store")


@pytest.fixture
def app(store_dir: Path, tmp_path: Path) -> Iterator[Flask]:
    yield make_app(store_dir, tmp_path / "cache")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def refresh(app: Flask) -> None:
    app.extensions["feeds"].store.refresh()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden from the current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
