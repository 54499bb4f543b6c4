"""The background thread that keeps one store's snapshot fresh, in this process."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable

from .notify import Doorbell

log = logging.getLogger("feeds.store")


class Watcher:
    """Calls scan() again and again, pausing pause() seconds between; can be stopped.

    The doorbell (notify.py) cuts a pause short when a watched folder changes;
    after each scan it is pointed at folders(), the folders worth watching (None
    when they are the same as before).
    """

    def __init__(self, scan: Callable[[], None], pause: Callable[[], float],
                 doorbell: Doorbell, folders: Callable[[], Iterable[str] | None]) -> None:
        self.scan = scan
        self.pause = pause
        self.doorbell = doorbell
        self.folders = folders
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
            self.doorbell.open()
            self._thread = threading.Thread(target=self._run, name="feeds-store", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        doorbell = self.doorbell
        while not self._stop.is_set():
            try:
                self.scan()
                doorbell.watch(self.folders())
            except Exception:  # the scan must survive anything the disk does
                log.exception("store scan failed")
            pause = max(self.pause(), 0.01)
            if doorbell.listening:
                doorbell.wait(pause)
            else:
                self._stop.wait(pause)

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        self.doorbell.ring()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        if thread is None or not thread.is_alive():
            self.doorbell.close()

    def after_fork_in_child(self) -> None:
        """Forget the parent's thread; start one of our own if the parent was watching."""
        was_running = self.running
        self._thread = None
        self._stop = threading.Event()
        self._starting = threading.Lock()
        self.doorbell.forget_after_fork()
        if was_running:
            self.start()
