"""Refuse to start, in one line and with a non-zero exit, on a bad setting or store.

Used by the entry points (app.py, gunicorn.conf.py); the tests build apps with
create_app and see the exceptions themselves.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable
from typing import NoReturn

from flask import Flask

from . import logs
from .config import ConfigError, Settings, unknown_settings
from .guard import StoreUnavailable, check_root

# gunicorn's master stops (instead of starting workers again and again) when a
# worker exits with this status ("App failed to load"); flask exits with it too.
STARTUP_FAILED = 4
MASTER_CHECKED = "_FEEDS_CHECKED_BY_MASTER"  # not FEEDS_*: no setting, never warned about
log = logging.getLogger("feeds.web")


def startup_settings() -> Settings:
    """The settings from the environment, refused when they or the store are unusable."""
    settings = Settings.from_env()
    check_root(settings.content_dir)
    return settings


def exit_if_unusable() -> Settings:
    """For gunicorn's master, before any worker starts; it also warns of unknown names.

    The workers inherit MASTER_CHECKED and leave the warnings to the master, so a
    typo is one line, not one per worker.
    """
    try:
        settings = startup_settings()
    except (ConfigError, StoreUnavailable) as exc:
        refuse_start(exc)
    logs.configure(settings.log_format)
    for warning in unknown_settings():
        log.warning("%s", warning)
    os.environ[MASTER_CHECKED] = "1"
    return settings


def create_app_or_exit(factory: Callable[[], Flask]) -> Flask:
    """The app from factory (web.create_app, passed in by app.py, so this module that
    gunicorn's master reads never loads the app): a bad setting or store is one line."""
    try:
        return factory()
    except (ConfigError, StoreUnavailable) as exc:
        refuse_start(exc)


def _first_worker_to_fail() -> bool:
    """Among the gunicorn workers of one master, True for the first to claim the failure.

    The claim is a file named after the master (pid and start time), so it outlives
    the first worker: a worker started after it exited is no first one either.
    """
    try:
        with open(f"/proc/{os.getppid()}/stat", "rb") as fh:
            started = fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        started = "0"
    claim = os.path.join(tempfile.gettempdir(), f"feeds-refused-{os.getppid()}-{started}")
    try:
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    except OSError:
        return True
    return True


def refuse_start(exc: Exception) -> NoReturn:
    """Print one line and exit with STARTUP_FAILED.

    Under gunicorn every worker fails the same way, and two exits with that status
    make gunicorn's master raise while it halts; so only the first worker speaks
    and exits with it, and the others leave quietly (status 0) while it halts.
    """
    in_worker = os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn")
    if in_worker and not _first_worker_to_fail():
        raise SystemExit(0)
    print(f"feeds: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(STARTUP_FAILED)
