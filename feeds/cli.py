"""Flask commands: check the store, build a static copy of every feed.

The app factory comes in through init_app, so this module never imports it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .export import Changes, Exporter
from .parse import MINSK
from .snapshot import Snapshot
from .store import Store
from .urls import site_paths

AppFactory = Callable[[Mapping[str, Any] | None], Flask]


def store_refusal(store: Store, allow_empty: bool = False) -> str | None:
    """Why a command must not trust this scan of the store: unavailable, or empty."""
    health = store.guard.health
    if health.status not in ("ok", "starting"):
        return f"store {store.display_root}: {health.reason}"
    if not store.snapshot.entries and not allow_empty:
        return f"store {store.display_root}: no articles found"
    return None


def _check_report(store: Store, snapshot: Snapshot, now: float) -> list[str]:
    """Articles per rubric and the embargo queue, after the problems."""
    lines = ["Articles per rubric:"]
    for slug in sorted(snapshot.by_slug, key=lambda s: snapshot.rubrics[s]):
        waiting = snapshot.embargoed_count(slug, now)
        lines.append(f"  {slug}: {len(snapshot.by_slug[slug])} ({snapshot.rubrics[slug]})"
                     + (f", {waiting} embargoed" if waiting else ""))
    queue = snapshot.entries[:snapshot.embargoed_count(None, now)]
    if queue:
        lines.append("Embargoed, by release time (Minsk):")
        soonest = list(reversed(queue))
        lines += [f"  {e.published.astimezone(MINSK):%Y-%m-%d %H:%M}  {e.id}  {title}"
                  for e, title in zip(soonest, store.titles(soonest), strict=True)]
    return lines


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Read the whole store and list every problem, one line per file."""
    state = current_app.extensions["feeds"]
    state.store.refresh_settled()
    snapshot = state.store.snapshot
    for problem in snapshot.problems:
        click.echo(str(problem))
    refusal = store_refusal(state.store)
    if refusal is None:
        for line in _check_report(state.store, snapshot, time.time()):
            click.echo(line)
    rejected = len(snapshot.rejected)
    click.echo(f"{len(snapshot.entries)} articles, {len(snapshot.by_slug)} rubrics,"
               f" {len(snapshot.problems)} problems ({rejected} articles rejected)")
    if refusal is not None:
        click.echo(refusal, err=True)
    index = state.store.index()
    if index.problem is not None:  # the store was read; only the cache folder failed
        click.echo(f"index {index.file}: cannot be used ({index.problem});"
                   " kept in memory", err=True)
    sys.exit(1 if rejected or refusal else 0)


def export_paths(app: Flask) -> list[str]:
    """Every URL path the service answers for the current store."""
    state = app.extensions["feeds"]
    static = Path(app.static_folder or "")
    return site_paths(state.store.snapshot, time.time(), state.settings.archive_page_size,
                      [p.name for p in sorted(static.iterdir()) if p.is_file()],
                      local_articles=not state.settings.article_url)


@click.command("build")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", help="Public origin for absolute links (default: FEEDS_BASE_URL).")
@click.option("--watch", is_flag=True,
              help="Keep OUTDIR in step with the store until interrupted.")
@click.option("--allow-empty", is_flag=True,
              help="Write even when the store has no articles (an empty export).")
@with_appcontext
def build_command(outdir: Path, base_url: str | None, watch: bool, allow_empty: bool) -> None:
    """Write every feed, archive page, HTML page and photo as static files, with .gz twins.

    Only what changed since the last build of OUTDIR is rendered; files the
    export wrote and no longer produces are removed. OUTDIR/.feeds-build/ holds
    the manifest and the list of files the last run added, changed and removed.
    """
    settings = current_app.extensions["feeds"].settings
    base = (base_url or settings.base_url or "").rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise click.UsageError("set FEEDS_BASE_URL or pass --base-url https://...")
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if settings.base_url != base:
        factory: AppFactory = current_app.extensions["feeds_factory"]
        app = factory({"SETTINGS": replace(settings, base_url=base), "WATCH": False})
    store = app.extensions["feeds"].store
    store.refresh_settled()  # files still being written are waited for, not skipped
    refusal = store_refusal(store, allow_empty)
    if refusal is not None:
        click.echo(f"{refusal}; nothing written to {outdir}"
                   + ("" if allow_empty else " (--allow-empty to write an empty export)"),
                   err=True)
        sys.exit(1)
    exporter = Exporter(app, outdir)
    changes = exporter.run(progress=sys.stderr.isatty() and not watch)
    _report(outdir, changes)
    if not watch:
        sys.exit(1 if changes.failed else 0)
    interval = min(settings.refresh_interval, 0.25)
    click.echo(f"watching {store.display_root}; Ctrl-C to stop", err=True)
    store.ensure_watching()  # the scan thread, woken by the kernel where it can be
    last: tuple[int, int, int] | None = _watch_key(store)
    try:
        while True:
            store.wait_for_change(last[0] if last else -1, interval)
            key = _watch_key(store)
            if key != last:
                last = key
                # A new scan during the long tail of listings ends the run early: the
                # next one puts the newer article into the feeds first.
                changes = exporter.run(interrupted=partial(_store_moved, store, key))
                if not changes.empty:
                    _report(outdir, changes)
                if changes.deferred:
                    last = None  # run again for what was left, even if nothing else changes
    except KeyboardInterrupt:
        pass


def _store_moved(store: Store, key: tuple[int, int, int]) -> bool:
    """Whether the scan thread published a newer snapshot since key."""
    return _watch_key(store)[:2] != key[:2]


def _watch_key(store: Store) -> tuple[int, int, int]:
    """What makes a run worth it: a new scan, an embargo ending, a new minute (flavours)."""
    now = time.time()
    snapshot = store.snapshot
    return snapshot.generation, snapshot.embargoed_count(None, now), int(now // 60)


def _report(outdir: Path, changes: Changes) -> None:
    deferred = f" ({changes.deferred} left for the next run)" if changes.deferred else ""
    click.echo(f"{outdir}: {changes.rendered} resources rendered{deferred},"
               f" {len(changes.added)} files added, {len(changes.changed)} changed,"
               f" {len(changes.removed)} removed, {len(changes.failed)} failed,"
               f" {changes.seconds:.1f} s")
    for path in changes.failed:
        click.echo(f"{path}: not written; the previous file, if any, stays", err=True)


def init_app(app: Flask, factory: AppFactory) -> None:
    """Add the commands; build makes its own app for the public origin with factory."""
    app.extensions["feeds_factory"] = factory
    app.cli.add_command(check_command)
    app.cli.add_command(build_command)
