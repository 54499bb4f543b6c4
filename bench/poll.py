"""Polling cost: our service against a bare WSGI app with the same bytes, in one run.

Prints requests/s for 200 and 304 answers of /feeds/all.rss (50 entries) as
ratios to the bare app under the same gunicorn settings, p50/p99 latency,
the cold render time of a feed after a store change, and how long a new,
edited or deleted article takes to show in every worker.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from _common import (
    ROOT,
    ensure_wrk,
    get,
    gunicorn,
    make_store,
    verdict,
    wrk_load,
)

FEED = "/feeds/all.rss"
KEPT_HEADERS = ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control",
                "Vary")


def article(title: str, when: str = "23 ноября 2026, 10:00") -> str:
    from tests.storekit import article_text

    return article_text("Общество", when, title, ["Первый абзац.", "Второй абзац."])


def load_both(wrk: str, ours: int, bare: int, seconds: int, etag: str) -> list[str]:
    lines = []
    for label, headers in (("200", {}), ("304", {"If-None-Match": etag})):
        mine = wrk_load(wrk, f"http://127.0.0.1:{ours}{FEED}", seconds, headers)
        base = wrk_load(wrk, f"http://127.0.0.1:{bare}{FEED}", seconds, headers)
        ratio = mine.requests_per_second / base.requests_per_second
        target = 0.7 if label == "200" else 0.8
        lines.append(
            f"{label}: ours {mine.requests_per_second:8.0f} req/s  bare "
            f"{base.requests_per_second:8.0f} req/s  ratio {ratio:.2f} (target >= {target})"
            f" {verdict(ratio >= target and mine.non_2xx == base.non_2xx)}"
            f"   ours p50 {mine.p50_ms:.2f} ms p99 {mine.p99_ms:.2f} ms"
            f" | bare p50 {base.p50_ms:.2f} ms p99 {base.p99_ms:.2f} ms")
    return lines


def cold_render(store: Path, cache: Path, rounds: int = 20,
                forget_bodies: bool = False) -> list[float]:
    """Milliseconds for the first request of /feeds/all.rss after each store change.

    With forget_bodies, every article is read and parsed from disk again too.
    """
    from feeds.config import Settings
    from feeds.web import create_app

    settings = Settings(content_dir=store, cache_dir=cache, base_url="http://bench.test")
    app = create_app({"SETTINGS": settings, "WATCH": False})
    client = app.test_client()
    client.get(FEED)
    times = []
    for n in range(rounds):
        (store / "cold.txt").write_text(article(f"Холодный рендер {n}"), encoding="utf-8")
        app.extensions["feeds"].store.refresh()
        if forget_bodies:
            app.extensions["feeds"].store._load_article.cache_clear()
        started = time.perf_counter()
        response = client.get(FEED)
        times.append((time.perf_counter() - started) * 1000)
        assert f"Холодный рендер {n}" in response.get_data(as_text=True)
    (store / "cold.txt").unlink()
    return times


def seen_everywhere(port: int, present: str | None, absent: str | None,
                    limit: float = 10) -> float:
    """Seconds until 8 fresh requests in a row (any worker) agree with the change."""
    started = time.monotonic()
    streak = 0
    while time.monotonic() - started < limit:
        text = get(port, FEED).body.decode()
        good = (present is None or present in text) and (absent is None or absent not in text)
        streak = streak + 1 if good else 0
        if streak == 8:
            return time.monotonic() - started
        time.sleep(0.02)
    return float("inf")


def freshness(port: int, store: Path) -> list[str]:
    new_times = []
    for n in range(5):
        path = store / f"fresh{n}.txt"
        path.write_text(article(f"Свежая новость {n}"), encoding="utf-8")
        new_times.append(seen_everywhere(port, f"Свежая новость {n}", None))
    path = store / "fresh0.txt"
    path.write_text(article("Исправленная новость"), encoding="utf-8")
    edit = seen_everywhere(port, "Исправленная новость", "Свежая новость 0")
    path.unlink()
    delete = seen_everywhere(port, None, "Исправленная новость")
    for n in range(1, 5):
        (store / f"fresh{n}.txt").unlink()
    worst = max([*new_times, edit, delete])
    return [f"freshness: new article median {statistics.median(new_times):.2f} s,"
            f" max {max(new_times):.2f} s; edit {edit:.2f} s; delete {delete:.2f} s"
            f" (target <= 2 s) {verdict(worst <= 2)}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="wrk run length")
    args = parser.parse_args()
    wrk = ensure_wrk()
    if wrk is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = make_store(work / "store", 120, photo_every=2)
        env = {"FEEDS_CONTENT_DIR": str(store), "FEEDS_CACHE_DIR": str(work / "cache")}
        print(f"store: 120 articles; gunicorn -w 2 (sync); wrk -t2 -c16 -d{args.seconds}s")
        with gunicorn("app:app", env) as ours:
            first = get(ours.port, FEED)
            entries = first.body.count(b"<item>")
            body = work / "body.rss"
            body.write_bytes(first.body)
            headers = [(name, first.headers[name.lower()]) for name in KEPT_HEADERS]
            bare_env = {"BARE_BODY": str(body), "BARE_HEADERS": json.dumps(headers)}
            with gunicorn("bare:app", bare_env, chdir=ROOT / "bench") as bare:
                assert get(bare.port, FEED).body == first.body
                print(f"{FEED}: {entries} entries, {len(first.body)} bytes")
                for line in load_both(wrk, ours.port, bare.port, args.seconds,
                                      first.headers["etag"]):
                    print(line)
            for forget, label in ((False, "bodies of unchanged articles in memory"),
                                  (True, "every body read from disk again")):
                times = cold_render(store, work / "cache-cold", forget_bodies=forget)
                print(f"cold render of {FEED} after a change ({label}; test client,"
                      f" {len(times)} rounds): median {statistics.median(times):.1f} ms,"
                      f" max {max(times):.1f} ms (target <= 20 ms)"
                      f" {verdict(statistics.median(times) <= 20)}")
            for line in freshness(ours.port, store):
                print(line)


if __name__ == "__main__":
    main()
