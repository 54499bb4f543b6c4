"""WebSub: a real hub endpoint on 127.0.0.1 receives pings from a running server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from feeds import websub
from feeds.store import Store
from feeds.urls import Urls
from feeds.websub import HubNotifier
from tests.serverkit import running_server
from tests.storekit import tiny_store, write_article


class Hub:
    """A hub that records publish pings; it can be told to fail the first few."""

    def __init__(self, failures: int = 0) -> None:
        self.pings: list[tuple[str, str]] = []
        self.failures = failures
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                if hub.failures > 0:
                    hub.failures -= 1
                    self.send_response(503)
                else:
                    hub.pings.append((form["hub.mode"][0], form["hub.url"][0]))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def urls(self) -> set[str]:
        return {url for _, url in self.pings}


@pytest.fixture
def hub() -> Iterator[Hub]:
    running = Hub(failures=2)
    yield running
    running.server.shutdown()


def wait_for(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_hub_is_pinged_once_per_change_with_retries(hub: Hub, tmp_path: Path) -> None:
    store = tiny_store(tmp_path / "store")
    with running_server(store, tmp_path / "cache", FEEDS_WEBSUB_HUBS=hub.url) as server:
        feed = server.get("/feeds/sport.atom").text
        assert f'<link href="{hub.url}" rel="hub"/>' in feed
        assert f'"url": "{hub.url}"' in server.get("/feeds/sport.json").text
        time.sleep(1.5)  # let every worker take its first look at the store
        assert hub.pings == []
        write_article(store, "push1", "Спорт", "5 марта 2025, 10:00", "Новость для хаба")
        expected = {f"{server.base}/feeds/{name}" for name in (
            "all.rss", "all.atom", "all.json", "yandex.rss", "dzen.rss",
            "sport.rss", "sport.atom", "sport.json", "yandex/sport.rss", "dzen/sport.rss")}
        # The first two pings fail with 503 and are retried after a backoff.
        wait_for(lambda: hub.urls() == expected, 15)
        time.sleep(2)  # no second round for the same change, from any worker
        assert sorted(url for _, url in hub.pings) == sorted(expected)
        assert {mode for mode, _ in hub.pings} == {"publish"}


def test_notifier_pings_changed_feeds_and_stops(tmp_path: Path) -> None:
    """In-process: a change queues one ping per feed URL; stop ends the thread."""
    root = tiny_store(tmp_path / "store")
    store = Store(root, None)
    store.refresh()
    sent: list[str] = []

    def send(hub: str, url: str) -> int:
        sent.append(url)
        return 204

    notifier = HubNotifier(store, "http://x.test", ("http://hub.test/",), 50, None, send=send)
    notifier.on_scan(store.snapshot)  # the first look
    write_article(root, "push2", "Спорт", "5 марта 2025, 10:00", "Новость")
    store.refresh()
    notifier.on_scan(store.snapshot)
    wait_for(lambda: len(sent) == 10, 5)
    assert set(sent) == set(Urls("http://x.test").feeds_of("all")
                            + Urls("http://x.test").feeds_of("sport"))
    thread = notifier._threads["http://hub.test/"]
    assert thread.is_alive()
    notifier.stop()
    assert not thread.is_alive()
    write_article(root, "push3", "Спорт", "5 марта 2025, 11:00", "Ещё")
    store.refresh()
    notifier.on_scan(store.snapshot)  # stopped: nothing more is queued
    assert len(sent) == 10 and not any(notifier._queues.values())


def test_a_hub_that_never_answers_delays_neither_other_hubs_nor_forever(
        hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    silent = socket.socket()  # accepts connections (the kernel does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
    monkeypatch.setattr(websub, "READ_TIMEOUT", 0.5)
    try:
        started = time.monotonic()
        with pytest.raises(OSError):
            websub.post_publish(silent_url, "http://x.test/feeds/all.rss")
        assert time.monotonic() - started < 3
        hub.failures = 0
        root = tiny_store(tmp_path / "store")
        store = Store(root, None)
        store.refresh()
        notifier = HubNotifier(store, "http://x.test", (silent_url, hub.url), 50, None)
        notifier.on_scan(store.snapshot)
        write_article(root, "push4", "Спорт", "5 марта 2025, 10:00", "Новость")
        store.refresh()
        notifier.on_scan(store.snapshot)
        # Ten pings to the silent hub take 0.5 s each; the good hub has all of its at once.
        wait_for(lambda: len(hub.pings) == 10, 2.5)
        notifier.stop(0.1)
    finally:
        silent.close()
