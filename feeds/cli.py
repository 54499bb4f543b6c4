"""Flask commands: check the store, build a static copy of every feed.

The app factory comes in through init_app, so this module never imports it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .http import compress
from .urls import site_paths

AppFactory = Callable[[Mapping[str, Any] | None], Flask]


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Read the whole store and list every problem, one line per file."""
    state = current_app.extensions["feeds"]
    state.store.refresh()
    snapshot = state.store.snapshot
    for problem in snapshot.problems:
        click.echo(str(problem))
    rejected = len(snapshot.rejected)
    click.echo(f"{len(snapshot.entries)} articles, {len(snapshot.by_slug)} rubrics,"
               f" {len(snapshot.problems)} problems ({rejected} articles rejected)")
    sys.exit(1 if rejected else 0)


def export_paths(app: Flask) -> list[str]:
    """Every URL path the service answers for the current store."""
    state = app.extensions["feeds"]
    static = Path(app.static_folder or "")
    return site_paths(state.store.snapshot, time.time(), state.settings.archive_page_size,
                      [p.name for p in sorted(static.iterdir()) if p.is_file()])


def _target(outdir: Path, path: str) -> Path:
    relative = unquote(path).lstrip("/")
    return outdir / (relative + "index.html" if relative.endswith("/") or not relative
                     else relative)


def _write_if_changed(target: Path, data: bytes) -> bool:
    """Leave unchanged files alone, so rsync and object-store syncs stay cheap."""
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
    except OSError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)
    return True


@click.command("build")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", help="Public origin for absolute links (default: FEEDS_BASE_URL).")
@with_appcontext
def build_command(outdir: Path, base_url: str | None) -> None:
    """Write every feed, archive page, HTML page and photo as static files, with .gz twins."""
    settings = current_app.extensions["feeds"].settings
    base = (base_url or settings.base_url or "").rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise click.UsageError("set FEEDS_BASE_URL or pass --base-url https://...")
    factory: AppFactory = current_app.extensions["feeds_factory"]
    app = factory({"SETTINGS": replace(settings, base_url=base), "WATCH": False})
    client = app.test_client()
    paths = export_paths(app)
    written = failed = 0
    started = time.monotonic()
    with click.progressbar(paths, label=f"Building {outdir}", file=sys.stderr) as bar:
        for path in bar:
            response = client.get(path)
            if response.status_code != 200:
                failed += 1
                click.echo(f"\n{path}: HTTP {response.status_code}", err=True)
                continue
            body = response.get_data()
            target = _target(outdir, path)
            try:
                written += _write_if_changed(target, body)
                if not (response.mimetype or "").startswith("image/"):
                    written += _write_if_changed(target.with_name(target.name + ".gz"),
                                                 compress(body))
            except OSError as exc:  # one unwritable file must not lose the rest
                failed += 1
                click.echo(f"\n{path}: cannot write ({exc.strerror})", err=True)
    click.echo(f"{len(paths)} resources, {written} files written, {failed} failed,"
               f" {time.monotonic() - started:.1f} s")
    sys.exit(1 if failed else 0)


def init_app(app: Flask, factory: AppFactory) -> None:
    """Add the commands; build makes its own app for the public origin with factory."""
    app.extensions["feeds_factory"] = factory
    app.cli.add_command(check_command)
    app.cli.add_command(build_command)
