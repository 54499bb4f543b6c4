"""Scale: 1,000 against 100,000 articles, under gunicorn with two workers.

Prints cold start (empty index), warm start (index on disk), memory per
worker, p50 latency of /feeds/all.rss and a rubric feed at 100k against 1k,
an archive walk over every article, and the static export: its time, and a
byte-for-byte comparison of exported files with what the server sends.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import (
    PYTHON,
    ROOT,
    Gunicorn,
    get,
    gunicorn,
    make_store,
    rss_mb,
    verdict,
    wait_until_ok,
)
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
RUBRIC_FEED = "/feeds/society.rss"


def latency(port: int, path: str, requests: int) -> tuple[float, float]:
    """p50 and p90 in milliseconds of sequential requests on fresh connections."""
    for _ in range(20):
        get(port, path)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        reply = get(port, path)
        times.append((time.perf_counter() - started) * 1000)
        assert reply.status == 200
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9)]


def walk(port: int, feed: str) -> tuple[int, int, int, float]:
    """Follow prev-archive from a subscription feed: (entries, distinct, pages, seconds)."""
    started = time.monotonic()
    ids: list[str] = []
    pages = 0
    document = etree.fromstring(get(port, feed).body)
    link = document.find(f"{ATOM}link[@rel='prev-archive']")
    while link is not None and pages < 10_000:
        page = etree.fromstring(get(port, link.get("href").split(str(port), 1)[1]).body)
        pages += 1
        ids += [entry.findtext(f"{ATOM}id") for entry in page.findall(f"{ATOM}entry")]
        link = page.find(f"{ATOM}link[@rel='prev-archive']")
    return len(ids), len(set(ids)), pages, time.monotonic() - started


def start_time(store: Path, cache: Path, log: Path) -> float:
    """Seconds from launching gunicorn until /feeds/all.rss answers 200."""
    started = time.monotonic()
    env = {"FEEDS_CONTENT_DIR": str(store), "FEEDS_CACHE_DIR": str(cache)}
    with gunicorn("app:app", env, wait_path=None, log=log) as server:
        wait_until_ok(server.port, "/feeds/all.rss", 120, server.process)
        return time.monotonic() - started


def compare_export(server: Gunicorn, out: Path, sample: int) -> tuple[int, int]:
    """(files compared, mismatches) between the exported tree and the live server."""
    files = [p for p in out.rglob("*") if p.is_file() and not p.name.endswith(".gz")]
    rng = random.Random(5)
    chosen = rng.sample(files, min(sample, len(files)))
    chosen += [out / "feeds" / "all.rss", out / "index.html", out / "feeds.opml"]
    compared = mismatches = 0
    for path in chosen:
        relative = "/" + str(path.relative_to(out))
        url = relative[: -len("index.html")] if relative.endswith("index.html") else relative
        if get(server.port, url).body != path.read_bytes():
            mismatches += 1
            print("  mismatch:", url)
        compared += 1
        packed = path.with_name(path.name + ".gz")
        if packed.exists():
            served = get(server.port, url, {"Accept-Encoding": "gzip"}).body
            if served != packed.read_bytes() or gzip.decompress(served) != path.read_bytes():
                mismatches += 1
                print("  gzip mismatch:", url)
            compared += 1
    return compared, mismatches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--stores", type=Path, default=ROOT / "bench" / "stores")
    parser.add_argument("--no-build", action="store_true", help="skip the static export")
    args = parser.parse_args()
    big = make_store(args.stores / f"store-{args.articles}", args.articles)
    small = make_store(args.stores / f"store-{args.small}", args.small)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        log = work / "gunicorn.log"
        cold = start_time(big, work / "cache-big", log)
        warm = start_time(big, work / "cache-big", log)
        print(f"store: {args.articles} articles (and {args.small} for the baseline);"
              " gunicorn -w 2 (sync)")
        print(f"cold start, empty index: {cold:.1f} s (target <= 60 s) {verdict(cold <= 60)}")
        print(f"warm start, index on disk: {warm:.2f} s (target <= 3 s) {verdict(warm <= 3)}")
        env_big = {"FEEDS_CONTENT_DIR": str(big), "FEEDS_CACHE_DIR": str(work / "cache-big")}
        env_small = {"FEEDS_CONTENT_DIR": str(small),
                     "FEEDS_CACHE_DIR": str(work / "cache-small")}
        results = {}
        with gunicorn("app:app", env_small) as server:
            for path in ("/feeds/all.rss", RUBRIC_FEED):
                results[("small", path)] = latency(server.port, path, args.requests)
        with gunicorn("app:app", env_big) as server:
            for path in ("/feeds/all.rss", RUBRIC_FEED):
                results[("big", path)] = latency(server.port, path, args.requests)
            for n in range(200):  # exercise archives and pages before measuring memory
                get(server.port, f"/feeds/all/archive/{1 + n * 5}.rss")
                get(server.port, f"/feeds/sport/archive/{1 + n}.atom")
            for pid in server.worker_pids():
                memory = rss_mb(pid)
                print(f"worker {pid} memory: {memory:.0f} MB (target <= 300 MB)"
                      f" {verdict(memory <= 300)}")
            for path in ("/feeds/all.rss", RUBRIC_FEED):
                small_p50, small_p90 = results[("small", path)]
                big_p50, big_p90 = results[("big", path)]
                ratio = big_p50 / small_p50
                print(f"{path}: p50 {big_p50:.2f} ms at {args.articles}, {small_p50:.2f} ms at"
                      f" {args.small}: ratio {ratio:.2f} (target <= 1.2) {verdict(ratio <= 1.2)}"
                      f"; p90 {big_p90:.2f} / {small_p90:.2f} ms")
            for feed, expected in (("/feeds/all.atom", args.articles), ("/feeds/sport.atom", None)):
                count, distinct, pages, seconds = walk(server.port, feed)
                whole = expected is None or count == expected
                print(f"archive walk from {feed}: {count} entries in {pages} pages,"
                      f" {distinct} distinct, {seconds:.1f} s"
                      f" {verdict(whole and distinct == count)}")
            for pid in server.worker_pids():
                memory = rss_mb(pid)
                print(f"worker {pid} memory after the walks: {memory:.0f} MB"
                      f" (target <= 300 MB) {verdict(memory <= 300)}")
            if args.no_build:
                return
            out = work / "site"
            base = f"http://127.0.0.1:{server.port}"
            started = time.monotonic()
            build = subprocess.run(
                [PYTHON, "-m", "flask", "--app", "app", "build", str(out), "--base-url", base],
                cwd=ROOT, env={**os.environ, **env_big}, capture_output=True, text=True,
                check=False)
            seconds = time.monotonic() - started
            summary = build.stdout.strip().splitlines()[-1] if build.stdout.strip() else ""
            print(f"static export: {seconds:.0f} s ({summary}) {verdict(build.returncode == 0)}")
            compared, mismatches = compare_export(server, out, 200)
            print(f"export against the server: {compared} files compared, {mismatches}"
                  f" different {verdict(mismatches == 0)}")
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
