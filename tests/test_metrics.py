"""/metrics: private, Prometheus text format, counters that follow the traffic."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from feeds.admin import authorized
from feeds.urls import route_kind
from tests.appkit import make_app
from tests.serverkit import ROOT, Server, running_server
from tests.storekit import tiny_store

TOKEN = "s3cret-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by (name, sorted labels), read with Prometheus' own parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def total(found: dict, name: str, **labels: str) -> float:
    return sum(value for (sample, keys), value in found.items()
               if sample == name and all((k, v) in keys for k, v in labels.items()))


@pytest.mark.parametrize("path,kind", [
    ("/feeds/all.rss", "feed"), ("/feeds/sport/archive/2.atom", "archive"),
    ("/feeds/dzen.rss", "flavour"), ("/feeds/yandex/sport.rss", "flavour"),
    ("/articles/1.html", "article"), ("/photos/1.jpg", "photo"), ("/feeds.opml", "opml"),
    ("/feeds-json.opml", "opml"), ("/sitemaps/articles-1.xml", "crawler"),
    ("/robots.txt", "crawler"), ("/", "page"), ("/sport/page/2/", "page"),
    ("/metrics", "private"), ("/stats", "private"), ("/healthz", "health"),
    ("/static/icon.png", "static"), ("/" + "x" * 500, "page"),
])
def test_route_kinds_are_a_small_fixed_set(path: str, kind: str) -> None:
    assert route_kind(path) == kind


def test_token_forms() -> None:
    basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    assert authorized(f"Bearer {TOKEN}", TOKEN) and authorized(f"Basic {basic}", TOKEN)
    assert not authorized(f"Bearer {TOKEN}x", TOKEN) and not authorized(TOKEN, TOKEN)
    assert not authorized("Basic !!!", TOKEN) and not authorized("", TOKEN)


def test_private_pages_are_off_without_a_token(client: FlaskClient) -> None:
    assert client.get("/metrics", headers=BEARER).status_code == 404


def test_private_pages_need_the_token(tmp_path: Path) -> None:
    client = make_app(tiny_store(tmp_path / "store"), tmp_path / "cache",
                      admin_token=TOKEN).test_client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "Basic" in wrong.headers["WWW-Authenticate"]
    assert TOKEN not in wrong.text
    ok = client.get("/metrics", headers=BEARER)
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"
    assert ok.mimetype == "text/plain"


def test_counters_follow_both_lanes(tmp_path: Path) -> None:
    client = make_app(tiny_store(tmp_path / "store"), tmp_path / "cache",
                      admin_token=TOKEN).test_client()
    before = samples(client.get("/metrics", headers=BEARER).text)
    first = client.get("/feeds/sport.rss")  # Flask renders; the fast lane remembers
    for _ in range(4):
        assert client.get("/feeds/sport.rss").status_code == 200  # the fast lane
    etag = {"If-None-Match": first.headers["ETag"]}
    for _ in range(3):
        assert client.get("/feeds/sport.rss", headers=etag).status_code == 304
    client.get("/nope/")
    after = samples(client.get("/metrics", headers=BEARER).text)

    def delta(**labels: str) -> float:
        return (total(after, "feeds_http_requests_total", **labels)
                - total(before, "feeds_http_requests_total", **labels))

    assert delta(kind="feed") == 8
    assert delta(kind="feed", lane="app") == 1 and delta(kind="feed", lane="fast") == 7
    assert delta(kind="feed", status="304") == 3
    assert delta(kind="page", status="404") == 1
    assert total(after, "feeds_render_seconds_count", kind="feed") >= 1
    assert total(after, "feeds_articles") == 4 and total(after, "feeds_rubrics") == 4
    assert total(after, "feeds_rejected_files") == 0
    assert total(after, "feeds_embargoed_articles") == 0
    assert 0 < total(after, "feeds_fast_lane_ratio") <= 1
    assert 0 < total(after, "feeds_not_modified_ratio") < 1


def scrape(server: Server) -> dict:
    reply = server.get("/metrics", BEARER)
    assert reply.status == 200
    return samples(reply.text)


def settled(server: Server) -> dict:
    """A scrape after the feed counters stopped moving (each worker drains every second)."""
    last = scrape(server)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(1.5)
        now = scrape(server)
        if total(now, "feeds_http_requests_total", kind="feed") == total(
                last, "feeds_http_requests_total", kind="feed"):
            return now
        last = now
    return last


def test_metrics_sum_both_gunicorn_workers(tmp_path: Path) -> None:
    store = tiny_store(tmp_path / "store")
    shared = tmp_path / "prometheus"
    with running_server(store, tmp_path / "cache", FEEDS_ADMIN_TOKEN=TOKEN,
                        PROMETHEUS_MULTIPROC_DIR=str(shared)) as server:
        assert server.get("/metrics").status == 401
        before = settled(server)  # the start-up probes are all counted
        etag = server.get("/feeds/nauka.json").headers["etag"]
        for n in range(39):
            headers = {"If-None-Match": etag} if n % 3 == 0 else {}
            assert server.get("/feeds/nauka.json", headers).status in (200, 304)
        deadline = time.monotonic() + 10
        while True:
            after = scrape(server)
            got = (total(after, "feeds_http_requests_total", kind="feed")
                   - total(before, "feeds_http_requests_total", kind="feed"))
            if got >= 40 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert got == 40
        not_modified = (total(after, "feeds_http_requests_total", kind="feed", status="304")
                        - total(before, "feeds_http_requests_total", kind="feed", status="304"))
        assert not_modified == 13
        assert total(after, "feeds_scan_seconds_count") >= 1
        assert total(after, "feeds_last_scan_timestamp_seconds") > time.time() - 60
        # Each worker keeps its own counter file in the shared folder.
        assert len(list(shared.glob("counter_*.db"))) >= 2


def test_threads_asking_for_the_counters_at_once_share_one_set(tmp_path: Path) -> None:
    """granian's request threads and the drain thread can ask first at the same moment:
    the counters are registered once (a second registration was a 500)."""
    script = """
import threading
from feeds import metrics
start = threading.Barrier(8)
made, errors = [], []
def ask():
    start.wait()
    try:
        made.append(metrics.instruments())
    except Exception as error:
        errors.append(repr(error))
threads = [threading.Thread(target=ask) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
assert not errors, errors
assert len({id(m) for m in made}) == 1
"""
    for _ in range(3):  # a fresh process each time: the first ask is the one that races
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                              text=True, timeout=60,
                              env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
        assert done.returncode == 0, done.stderr[-2000:]
