"""One process for all the workers: whoever holds a lock file does the job."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO


def take_lock(path: Path | str) -> IO[str] | None:
    """The lock file, open and held; None while another process holds it.

    Raises OSError when the file cannot be opened at all (no folder, no inodes), so each
    caller decides what a process without the lock should do.
    """
    handle = open(path, "a")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle
