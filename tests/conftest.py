from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests.appkit import make_app
from tests.storekit import tiny_store


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tiny_store(tmp_path / "store")


@pytest.fixture
def app(store_dir: Path, tmp_path: Path) -> Iterator[Flask]:
    made = make_app(store_dir, tmp_path / "cache")
    yield made
    made.extensions["feeds"].store.stop()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden from the current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
