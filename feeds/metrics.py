"""Operator metrics in Prometheus format, counted off the hot path and shared by workers.

Both lanes (the WSGI fast lane and Flask) only append one small tuple per
answer to a bounded deque; a thread in each process drains it every second
into prometheus_client counters (and hands the same records to the subscriber
statistics). Under gunicorn the counters live in PROMETHEUS_MULTIPROC_DIR
(gunicorn.conf.py sets it up), so /metrics in any worker sums every worker.
Gauges about the store (articles, rubrics, rejected files, embargoed ones,
the last scan) are read from the snapshot when /metrics is asked.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from .urls import route_kind

log = logging.getLogger("feeds.metrics")

REQUESTS_KEPT = 100_000  # records waiting for the drain; the oldest go first past this
DRAIN_SECONDS = 1.0
RENDER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
SCAN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


@dataclass(frozen=True, slots=True)
class Seen:
    """One answered request, as the drain reads it (built from the raw tuple)."""

    fast: bool
    path: str
    status: int
    user_agent: str
    client: str  # the peer's address, or the one a local proxy saw


# (fast, path, status, user agent, peer address, X-Forwarded-For): what the lanes append.
RawSeen = tuple[bool, str, int, "str | None", "str | None", "str | None"]


_LOCAL_PROXIES = frozenset({"127.0.0.1", "::1"})


def seen(raw: RawSeen) -> Seen:
    """X-Forwarded-For names the client only when a proxy on this machine sent it."""
    fast, path, status, agent, peer, forwarded = raw
    client = peer or ""
    if forwarded and client in _LOCAL_PROXIES:
        client = forwarded.split(",")[-1].strip() or client  # the address our proxy saw
    return Seen(fast, path, status, agent or "", client)


def record(queue: deque[RawSeen], environ: dict, status: int, fast: bool) -> None:
    """What Flask's lane calls after each answer (the fast lane inlines the same)."""
    queue.append((fast, environ.get("PATH_INFO", ""), status, environ.get("HTTP_USER_AGENT"),
                  environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR")))


_MAKING = threading.Lock()


def instruments() -> Any:
    """The prometheus_client objects, made on first use (after gunicorn set the env).

    Under a lock: request threads (granian's) and the drain thread may ask first at
    the same moment, and a second registration of the same names raises."""
    with _MAKING:
        return _made()


@cache
def _made() -> Any:
    from prometheus_client import Counter as PromCounter
    from prometheus_client import Histogram

    class Instruments:
        requests = PromCounter("feeds_http_requests", "Answered requests by route kind,"
                               " status and lane (fast: the WSGI fast lane; app: Flask)",
                               ["kind", "status", "lane"])
        render = Histogram("feeds_render_seconds", "Time to render a document on a cache miss",
                           ["kind"], buckets=RENDER_BUCKETS)
        scan = Histogram("feeds_scan_seconds", "Time of one store scan", buckets=SCAN_BUCKETS)

    return Instruments


def observe_render(kind: str, seconds: float) -> None:
    instruments().render.labels(kind).observe(seconds)


class Drain:
    """Per process: moves request records into the counters, and to other readers."""

    def __init__(self, queue: deque[RawSeen], scan_health: Callable[[], tuple[float | None,
                                                                             float]]) -> None:
        self.queue = queue
        self.scan_health = scan_health
        self.readers: list[Callable[[list[tuple[Seen, int]]], None]] = []
        self._pid = 0
        self._lock = threading.Lock()
        self._last_scan: float | None = None

    def ensure_running(self) -> None:
        """Start the thread in this process (again after a fork); cheap when running."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            thread = threading.Thread(target=self._run, name="feeds-metrics", daemon=True)
            thread.start()
            atexit.register(self.drain)

    def _run(self) -> None:
        while True:
            time.sleep(DRAIN_SECONDS)
            try:
                self.drain()
            except Exception:  # counting must never take the service down
                log.exception("metrics drain failed")

    def drain(self) -> None:
        """Count what the lanes recorded since the last drain (also before a scrape).

        Pollers repeat themselves, so the records are grouped first (at C speed)
        and each distinct one is looked at once, with its count."""
        with self._lock:
            raw = Counter(self.queue.popleft() for _ in range(len(self.queue)))
            self._observe_scan()
        if not raw:
            return
        batch = [(seen(record), count) for record, count in raw.items()]
        counts: Counter[tuple[str, int, bool]] = Counter()
        for record, count in batch:
            counts[(route_kind(record.path), record.status, record.fast)] += count
        requests = instruments().requests
        for (kind, status, fast), count in counts.items():
            requests.labels(kind, str(status), "fast" if fast else "app").inc(count)
        for reader in self.readers:
            try:
                reader(batch)
            except Exception:
                log.exception("request reader failed")

    def _observe_scan(self) -> None:
        last_scan, seconds = self.scan_health()
        if last_scan is not None and last_scan != self._last_scan:
            self._last_scan = last_scan
            instruments().scan.observe(seconds)


# -- the scrape ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreFigures:
    articles: int
    rubrics: int
    rejected: int
    embargoed: int
    last_scan: float | None


def _store_families(figures: StoreFigures) -> Iterator[Any]:
    from prometheus_client.core import GaugeMetricFamily

    for name, text, value in (
            ("feeds_articles", "Published articles", figures.articles),
            ("feeds_rubrics", "Rubrics with published articles", figures.rubrics),
            ("feeds_rejected_files", "Article files rejected by the last scan", figures.rejected),
            ("feeds_embargoed_articles", "Articles waiting for their publication time",
             figures.embargoed)):
        yield GaugeMetricFamily(name, text, value=value)
    if figures.last_scan is not None:
        yield GaugeMetricFamily("feeds_last_scan_timestamp_seconds",
                                "Unix time of the last successful store scan",
                                value=figures.last_scan)


def _share_families(families: Iterable[Any]) -> Iterator[Any]:
    """304 and fast-lane shares since start, from the summed request counters."""
    from prometheus_client.core import GaugeMetricFamily

    total = not_modified = fast = 0.0
    for family in families:
        if family.name != "feeds_http_requests":
            continue
        for sample in family.samples:
            if sample.name != "feeds_http_requests_total":
                continue
            total += sample.value
            not_modified += sample.value if sample.labels.get("status") == "304" else 0
            fast += sample.value if sample.labels.get("lane") == "fast" else 0
    yield GaugeMetricFamily("feeds_not_modified_ratio",
                            "Share of requests answered 304, since start",
                            value=not_modified / total if total else 0.0)
    yield GaugeMetricFamily("feeds_fast_lane_ratio",
                            "Share of requests answered by the fast lane, since start",
                            value=fast / total if total else 0.0)


def exposition(figures: StoreFigures) -> tuple[bytes, str]:
    """The /metrics body and its content type: every worker's counters plus the store."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    instruments()  # the families exist (at zero) before the first request is counted
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted: Any = CollectorRegistry()
        MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    families = list(counted.collect())

    class Computed:
        def collect(self) -> Iterator[Any]:
            yield from _store_families(figures)
            yield from _share_families(families)

    extra = CollectorRegistry(auto_describe=False)
    extra.register(Computed())  # type: ignore[arg-type]
    return generate_latest(counted) + generate_latest(extra), CONTENT_TYPE_LATEST
