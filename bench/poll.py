"""Polling cost of the hot feed, each figure against a baseline measured in the same run.

Prints, for /feeds/all.rss (50 entries), median and spread of several wrk trials:
- requests/s of 200 and 304 answers as ratios to a bare WSGI app serving the
  same bytes under the same gunicorn settings, p50/p99 latency;
- requests/s of gunicorn (sync), granian (the README's command line) and
  gunicorn behind nginx's micro-cache (deploy/nginx/proxy.conf) as ratios to
  Debian's nginx serving the same bytes as one fixed file;
- slow clients: the same three (and nginx passing every poll on to gunicorn)
  with 0, 2 and 50 half-sent requests held open (headers never finished)
  while wrk polls, as ratios to none held;
then the cold render time of a feed after a store change, and how long a new,
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
    Load,
    ensure_wrk,
    get,
    granian,
    gunicorn,
    make_store,
    nginx_fixed_file,
    nginx_proxy,
    spread,
    verdict,
    wrk_load,
)

from tests.serverkit import half_sent

FEED = "/feeds/all.rss"
KEPT_HEADERS = ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control",
                "Vary")


def article(title: str, when: str = "23 ноября 2026, 10:00") -> str:
    from tests.storekit import article_text

    return article_text("Общество", when, title, ["Первый абзац.", "Второй абзац."])


def load_both(wrk: str, ours: int, bare: int, args: argparse.Namespace,
              etag: str) -> list[str]:
    lines = []
    for label, headers in (("200", {}), ("304", {"If-None-Match": etag})):
        mine: list[Load] = []
        base: list[Load] = []
        for _ in range(args.trials):
            mine.append(wrk_load(wrk, f"http://127.0.0.1:{ours}{FEED}", args.seconds, headers))
            base.append(wrk_load(wrk, f"http://127.0.0.1:{bare}{FEED}", args.seconds, headers))
        ratios = ratio_per_trial(mine, base)
        target = 0.7 if label == "200" else 0.8
        errors = sum(m.non_2xx for m in mine) != sum(b.non_2xx for b in base)
        lines.append(
            f"{label}: ours {rates(mine)} req/s, {latency(mine)}\n"
            f"     bare {rates(base)} req/s, {latency(base)}\n"
            f"     ratio {spread(ratios)} (target >= {target})"
            f" {verdict(statistics.median(ratios) >= target and not errors)}")
    return lines


def ratio_per_trial(loads: list[Load], baseline: list[Load]) -> list[float]:
    """Each trial against the baseline's run of the same trial (machine load drifts)."""
    return [load.requests_per_second / base.requests_per_second
            for load, base in zip(loads, baseline, strict=True)]


def rates(loads: list[Load]) -> str:
    return spread([load.requests_per_second for load in loads], digits=0)


def latency(loads: list[Load]) -> str:
    answered = [load for load in loads if load.requests_per_second > 0]
    timeouts = sum(load.timeouts for load in loads)
    late = f", {timeouts} client timeouts" if timeouts else ""
    if not answered:
        return f"nothing answered{late}"
    return (f"p50 median {statistics.median(a.p50_ms for a in answered):.2f} ms,"
            f" p99 median {statistics.median(a.p99_ms for a in answered):.2f} ms"
            f" (max {max(a.p99_ms for a in answered):.2f}){late}")


def against_nginx(wrk: str, fixed: int, servers: dict[str, int],
                  args: argparse.Namespace) -> list[str]:
    """The hot feed from each server, as a ratio to nginx serving the bytes as a file."""
    loads: dict[str, list[Load]] = {name: [] for name in ("fixed", *servers)}
    for _ in range(args.trials):  # one of each per trial, so drift hits all alike
        loads["fixed"].append(wrk_load(wrk, f"http://127.0.0.1:{fixed}/all.rss", args.seconds))
        for name, port in servers.items():
            loads[name].append(wrk_load(wrk, f"http://127.0.0.1:{port}{FEED}", args.seconds))
    for name, runs in loads.items():
        if any(load.non_2xx for load in runs):
            raise RuntimeError(f"{name}: {[load.non_2xx for load in runs]} answers not 2xx")
    lines = [f"nginx, one fixed file (baseline): {rates(loads['fixed'])} req/s,"
             f" {latency(loads['fixed'])}"]
    for name in servers:
        ratios = ratio_per_trial(loads[name], loads["fixed"])
        # The target is for nginx in front; the bare servers are for comparison.
        target = (f" (target >= 0.8) {verdict(statistics.median(ratios) >= 0.8)}"
                  if name == NGINX_GUNICORN else "")
        lines.append(f"{LABELS[name]}: {rates(loads[name])} req/s, {latency(loads[name])}\n"
                     f"     ratio to the fixed file {spread(ratios)}{target}")
    return lines


def slow_clients(wrk: str, servers: dict[str, int], args: argparse.Namespace) -> list[str]:
    """Polls while half-sent requests are held open, against the same server with none."""
    servers = {**servers, NGINX_PASSED: servers[NGINX_GUNICORN]}
    counts = (0, *args.held)
    loads: dict[str, dict[int, list[Load]]] = {name: {n: [] for n in counts} for name in servers}
    for _ in range(args.trials):
        for name, port in servers.items():
            headers = PASSED_ON if name == NGINX_PASSED else None
            for count in counts:
                with half_sent(port, count):
                    loads[name][count].append(wrk_load(
                        wrk, f"http://127.0.0.1:{port}{FEED}", args.seconds, headers,
                        timeout=CLIENT_TIMEOUT))
    lines = []
    for name in servers:
        lines.append(f"{LABELS[name]}:")
        for count in counts:
            runs = loads[name][count]
            line = f"  {count:3d} held: {rates(runs)} req/s, {latency(runs)}"
            if count:
                ratios = ratio_per_trial(runs, loads[name][0])
                line += f"\n            ratio to none held {spread(ratios)}"
                if name != GUNICORN:  # gunicorn alone is the failure being shown
                    line += f" (target >= 0.8) {verdict(statistics.median(ratios) >= 0.8)}"
            lines.append(line)
    return lines


def cold_render(store: Path, cache: Path, rounds: int = 20,
                forget_bodies: bool = False) -> list[float]:
    """Milliseconds for the first request of /feeds/all.rss after each store change.

    With forget_bodies, every article is read and parsed from disk again too.
    """
    from feeds.config import Settings
    from feeds.web import create_app

    # No settle time: this measures the render, not the wait for a file being written.
    settings = Settings(content_dir=store, cache_dir=cache, base_url="http://bench.test",
                        settle_time=0)
    app = create_app({"SETTINGS": settings, "WATCH": False})
    client = app.test_client()
    client.get(FEED)
    times = []
    for n in range(rounds):
        (store / "cold.txt").write_text(article(f"Холодный рендер {n}"), encoding="utf-8")
        app.extensions["feeds"].store.refresh()
        if forget_bodies:
            app.extensions["feeds"].store._reader._articles.clear()
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


GUNICORN, GRANIAN, NGINX_GUNICORN = "gunicorn", "granian", "nginx+gunicorn"
NGINX_PASSED = "nginx+gunicorn, passed on"
LABELS = {GUNICORN: "gunicorn sync alone", GRANIAN: "granian alone",
          NGINX_GUNICORN: "gunicorn behind nginx's micro-cache (deploy/nginx/proxy.conf)",
          NGINX_PASSED: "the same, every poll passed on to gunicorn (A-IM skips the cache)"}
# Requests that skip the micro-cache (and gunicorn's fast lane: Flask answers them).
PASSED_ON = {"A-IM": "feed"}
CLIENT_TIMEOUT = 2.0  # seconds wrk waits for an answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="wrk run length")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="of gunicorn and of granian")
    parser.add_argument("--held", type=int, nargs="*", default=[2, 50],
                        help="half-sent requests held open in the slow-client runs")
    args = parser.parse_args()
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = make_store(work / "store", 120, photo_every=2)
        env = {"FEEDS_CONTENT_DIR": str(store), "FEEDS_CACHE_DIR": str(work / "cache")}
        print(f"store: 120 articles; gunicorn -w {args.workers} (sync), granian --workers"
              f" {args.workers}, nginx 1 worker; wrk -t2 -c16 -d{args.seconds}s,"
              f" {args.trials} trials")
        with gunicorn("app:app", env, workers=args.workers) as ours:
            first = get(ours.port, FEED)
            entries = first.body.count(b"<item>")
            body = work / "body.rss"
            body.write_bytes(first.body)
            headers = [(name, first.headers[name.lower()]) for name in KEPT_HEADERS]
            bare_env = {"BARE_BODY": str(body), "BARE_HEADERS": json.dumps(headers)}
            print(f"{FEED}: {entries} entries, {len(first.body)} bytes")
            print("\n== our service against a bare WSGI app with the same bytes (gunicorn)")
            with gunicorn("bare:app", bare_env, workers=args.workers,
                          chdir=ROOT / "bench") as bare:
                assert get(bare.port, FEED).body == first.body
                for line in load_both(wrk, ours.port, bare.port, args, first.headers["etag"]):
                    print(line)
            same_links = {**env, "FEEDS_BASE_URL": f"http://127.0.0.1:{ours.port}"}
            with granian(same_links, workers=args.workers) as fast, \
                    nginx_fixed_file(first.body, work) as fixed, \
                    nginx_proxy(ours.port, work) as proxy:
                servers = {GUNICORN: ours.port, GRANIAN: fast.port, NGINX_GUNICORN: proxy}
                for port in servers.values():
                    assert get(port, FEED).body == first.body
                passed_on = get(proxy, FEED, PASSED_ON)
                assert passed_on.body == first.body
                assert passed_on.headers["x-cache-status"] == "BYPASS"
                print("\n== the hot feed against nginx serving the same bytes as one file")
                for line in against_nginx(wrk, fixed, servers, args):
                    print(line)
                print(f"\n== slow clients: half-sent requests held open while wrk polls"
                      f" (client timeout {CLIENT_TIMEOUT:g} s)")
                for line in slow_clients(wrk, servers, args):
                    print(line)
            print()
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
