"""Flask commands: check the store, build a static copy of every feed."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


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


def init_app(app: Flask) -> None:
    app.cli.add_command(check_command)
