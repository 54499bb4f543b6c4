"""The background thread that keeps one store's snapshot fresh, in this process."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger("feeds.store")


class Watcher:
    """Calls scan() again and again, pausing pause() seconds between; can be stopped."""

    def __init__(self, scan: Callable[[], None], pause: Callable[[], float]) -> None:
        self.scan = scan
        self.pause = pause
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stop = threading.Event()
        self._starting = threading.Lock()

    def start(self) -> None:
        """Start the thread in this process (again after a fork: threads do not cross one)."""
        with self._starting:
            if self._thread is not None and self._pid == os.getpid():
                return
            self._stop.clear()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="feeds-store", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception:  # the scan must survive anything the disk does
                log.exception("store scan failed")
            self._stop.wait(max(self.pause(), 0.01))

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def after_fork_in_child(self) -> None:
        """Forget the parent's thread; start one of our own if the parent was watching."""
        was_running = self.running
        self._thread = None
        self._stop = threading.Event()
        self._starting = threading.Lock()
        if was_running:
            self.start()
