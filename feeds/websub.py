"""WebSub publishing: tell the hubs which feeds changed, from one process only.

Every worker scans the store, but only the one holding the WebSub lock file
compares feeds between scans and pings. Pings go out from a background
thread per hub with retries, so a slow or dead hub never delays a response, nor
the pings to the other hubs; each ping has a connect and a read timeout.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from pathlib import Path
from typing import IO

from .locks import take_lock
from .snapshot import Snapshot
from .store import Store
from .urls import Urls

log = logging.getLogger("feeds.websub")

RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)  # then the ping is given up
CONNECT_TIMEOUT = 5.0  # seconds to open a connection to a hub
READ_TIMEOUT = 10.0  # seconds a hub may stay silent while sending its answer

Fingerprint = tuple[tuple[str, int, int, int], ...]


def feed_fingerprints(snapshot: Snapshot, now: float, limit: int) -> dict[str, Fingerprint]:
    """What each feed shows right now, compactly: its newest entries and their versions."""
    names: list[str | None] = [None, *snapshot.by_slug]
    result = {}
    for slug in names:
        entries = snapshot.released(slug, now)[:limit]
        result[slug or "all"] = tuple(
            (e.id, e.mtime_ns, e.size, e.photo.mtime_ns if e.photo else 0) for e in entries)
    return result


Sender = Callable[[str, str], int]  # (hub, feed url) -> HTTP status


def post_publish(hub: str, url: str) -> int:
    """POST hub.mode=publish for one feed URL; return the hub's status code."""
    parts = urllib.parse.urlsplit(hub)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) hub URL: {hub}")
    kind = HTTPSConnection if parts.scheme == "https" else HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT)
    try:
        connection.connect()
        assert connection.sock is not None
        connection.sock.settimeout(READ_TIMEOUT)
        path = parts.path or "/"
        connection.request("POST", f"{path}?{parts.query}" if parts.query else path,
                           body=urllib.parse.urlencode({"hub.mode": "publish", "hub.url": url}),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        return int(connection.getresponse().status)
    finally:
        connection.close()


class HubNotifier:
    """Watches scans for changed feeds and pings every hub about them."""

    def __init__(self, store: Store, base_url: str, hubs: tuple[str, ...], limit: int,
                 lock_path: Path | None, send: Sender = post_publish) -> None:
        self.store = store
        self.urls = Urls(base_url)
        self.hubs = hubs
        self.limit = limit
        self.lock_path = lock_path
        self.send = send
        self._lock_file: IO[str] | None = None
        self._warned = False
        self._last: dict[str, Fingerprint] | None = None
        # One queue and one thread per hub: (due, attempt, url), soonest first.
        self._queues: dict[str, list[tuple[float, int, str]]] = {hub: [] for hub in hubs}
        self._pending: set[tuple[str, str]] = set()
        self._wake = threading.Condition()
        self._threads: dict[str, threading.Thread] = {}
        self._stopped = False

    def start(self) -> None:
        self.store.add_scan_listener(self.on_scan)

    def stop(self, timeout: float = 5.0) -> None:
        """End the ping thread, dropping pings not yet sent, and give up the WebSub lock."""
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
            threads = list(self._threads.values())
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                self._lock_file.close()
            self._lock_file = None

    def _is_leader(self) -> bool:
        """Hold the WebSub lock: the first process to take it pings for all."""
        if self._lock_file is not None:
            return True
        if self.lock_path is None:
            return True
        try:
            handle = take_lock(self.lock_path)
        except OSError as exc:
            if self._lock_file is None and not self._warned:
                log.warning("websub: cannot open %s (%s); this process pings alone",
                            self.lock_path, exc)
                self._warned = True
            return True
        if handle is None:
            return False
        self._lock_file = handle
        return True

    def on_scan(self, snapshot: Snapshot) -> None:
        """Compare what every feed shows with the last scan; queue pings for changes."""
        if self._stopped or not self._is_leader():
            return
        current = feed_fingerprints(snapshot, time.time(), self.limit)
        previous, self._last = self._last, current
        if previous is None:
            return  # the first look: nothing to compare with
        changed = sorted(name for name in current.keys() | previous.keys()
                         if current.get(name) != previous.get(name))
        for name in changed:
            for url in self.urls.feeds_of(name):
                for hub in self.hubs:
                    self._enqueue(hub, url, 0, time.monotonic())

    def _enqueue(self, hub: str, url: str, attempt: int, due: float) -> None:
        with self._wake:
            if self._stopped:
                return
            if attempt == 0 and (hub, url) in self._pending:
                return  # already on its way: one ping covers both changes
            self._pending.add((hub, url))
            heapq.heappush(self._queues.setdefault(hub, []), (due, attempt, url))
            thread = self._threads.get(hub)
            if thread is None or not thread.is_alive():
                thread = threading.Thread(target=self._run, args=(hub,), daemon=True,
                                          name=f"feeds-websub-{len(self._threads)}")
                self._threads[hub] = thread
                thread.start()
            self._wake.notify_all()

    def _run(self, hub: str) -> None:
        """Deliver one hub's pings in order; other hubs have threads of their own."""
        queue = self._queues[hub]
        while True:
            with self._wake:
                while not self._stopped and (not queue or queue[0][0] > time.monotonic()):
                    self._wake.wait(queue[0][0] - time.monotonic() if queue else None)
                if self._stopped:
                    return
                _, attempt, url = heapq.heappop(queue)
                self._pending.discard((hub, url))
            self._deliver(hub, url, attempt)

    def _deliver(self, hub: str, url: str, attempt: int) -> None:
        try:
            status = self.send(hub, url)
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except (OSError, ValueError, HTTPException) as exc:
            error = str(exc) or exc.__class__.__name__
        if not error:
            log.info("websub: %s told about %s", hub, url)
            return
        if attempt < len(RETRY_DELAYS):
            delay = RETRY_DELAYS[attempt]
            log.warning("websub: %s refused %s (%s); retry in %.0f s", hub, url, error, delay)
            self._enqueue(hub, url, attempt + 1, time.monotonic() + delay)
        else:
            log.error("websub: giving up on %s for %s (%s)", hub, url, error)
