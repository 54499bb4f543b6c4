"""Search: whole-archive ?q= against today's filter, on one 100,000-article store, in one run.

"Today's filter" is the tree of the commit before search came (the parent of the
commit that added feeds/search.py), exported with git and run by the same Python
on the same store. For each of the two, under gunicorn with two workers:

* cold start (empty index, so ours also builds its full-text table), in seconds;
* random one- to three-word queries from the store's own words on
  /feeds/all.rss?q= (50 entries rendered; once without and once with
  Accept-Encoding: gzip) and ours also on /search?q=, paced at 20 requests/s,
  each distinct so no cache answers: p50 and p99 in ms;
* plain polls of /feeds/all.rss with wrk (2 threads, 16 connections) alone, then
  while a hostile client (wrk, 4 connections) sends distinct queries: long,
  prefix-heavy, phrases, exclusions, rare and common words; once as fast as the
  answers come (a flood), once 50 a second from one client (a crawler); polls per second
  with the hostile queries over polls without them (target >= 0.5). The hostile
  client's own CPU counts against the polls too: all of it shares two cores.

Several trials of each load, median and spread. Run it under the bench lock.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

from _common import (
    ROOT,
    ensure_wrk,
    get,
    gunicorn,
    make_store,
    verdict,
    wait_until_ok,
    wrk_load,
)

WORKERS = 2
PACE = 0.05  # seconds between timed queries: 20 a second


def baseline_tree(into: Path) -> str:
    """The project as it was just before search, unpacked into `into`; its commit."""
    added = subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%H", "-1", "--", "feeds/search.py"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", f"{added}^"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.strip()
    archive = into.with_suffix(".tar")
    subprocess.run(["git", "archive", "-o", str(archive), commit], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return commit


def vocabulary(store: Path, files: int = 300) -> tuple[list[str], list[str]]:
    """(common, rare) words of the store's articles, from a sample of its files."""
    import re
    from collections import Counter

    texts = sorted(store.rglob("*.txt"))
    sample = random.Random(3).sample(texts, min(files, len(texts)))
    counts: Counter[str] = Counter()
    for path in sample:
        counts.update(w.lower() for w in re.findall(r"[А-Яа-яЁё]{3,}", path.read_text()))
    ranked = [word for word, _ in counts.most_common()]
    return ranked[:150], ranked[-150:]


def random_query(rng: random.Random, common: list[str], rare: list[str]) -> str:
    words = [rng.choice(common if rng.random() < 0.7 else rare)
             for _ in range(rng.randint(1, 3))]
    return " ".join(words)


def hostile_queries(rng: random.Random, common: list[str], rare: list[str],
                    count: int) -> list[str]:
    """Distinct queries a crawler or an attacker might send."""
    shapes = [
        lambda: " ".join(rng.choice(common) for _ in range(12)),  # the most words allowed
        lambda: " ".join(w[:4] + "ение" for w in rng.sample(common, 3)),  # short stems
        lambda: f'"{rng.choice(common)} {rng.choice(common)}" -{rng.choice(common)}',
        lambda: f"{rng.choice(common)} -{rng.choice(common)} -{rng.choice(common)}",
        lambda: f"{rng.choice(rare)} {rng.choice(rare)} NEAR(*) : \"",
        lambda: "про пре при " + rng.choice(common),
        lambda: (rng.choice(common) + " ") * 30,  # long, repeated
        lambda: f"{rng.choice(common)}{rng.randint(0, 10**6)}",  # never found
    ]
    found: set[str] = set()
    while len(found) < count:
        found.add(shapes[rng.randrange(len(shapes))]()[:200])
    return sorted(found)


def wrk_script(paths: list[str], into: Path) -> Path:
    """A wrk Lua script that sends each path in turn (distinct queries)."""
    lua = ["paths = {"] + [f'  "{p}",' for p in paths] + ["}", "i = 0",
           "request = function()",
           "  i = i + 1",
           "  return wrk.format('GET', paths[(i % #paths) + 1])",
           "end"]
    script = into / "hostile.lua"
    script.write_text("\n".join(lua) + "\n")
    return script


def timed_queries(port: int, paths: list[str],
                  headers: dict[str, str] | None = None) -> tuple[float, float, int]:
    """p50 and p99 in ms over paths, paced; and how many did not answer 200."""
    times, failed = [], 0
    for path in paths:
        started = time.perf_counter()
        reply = get(port, path, headers)
        took = time.perf_counter() - started
        times.append(took * 1000)
        failed += reply.status != 200
        time.sleep(max(0.0, PACE - took))
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))], failed


def hostile_run(wrk: str, port: int, script: Path, seconds: int) -> threading.Thread:
    def run() -> None:
        subprocess.run([wrk, "-t1", "-c4", f"-d{seconds}s", "-s", str(script),
                        f"http://127.0.0.1:{port}/"], capture_output=True, check=False)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def crawler_run(port: int, paths: list[str], seconds: int, rate: float) -> threading.Thread:
    """A crawler: one query every 1/rate s on a fresh connection, the request sent as
    soon as connected (a client that connects and then waits would hold a sync
    worker idle: that is the slow-client problem, which a proxy in front solves)."""
    def run() -> None:
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            due = time.monotonic() + 1 / rate
            with contextlib.suppress(OSError):
                get(port, paths[n % len(paths)])
            n += 1
            time.sleep(max(0.0, due - time.monotonic()))
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} (min {min(values):.0f}, max {max(values):.0f})"


def measure(name: str, chdir: Path, env: dict[str, str], wrk: str, args: argparse.Namespace,
            queries: list[str], hostile: list[str], work: Path, ours: bool) -> dict[str, float]:
    results: dict[str, float] = {}
    started = time.monotonic()
    with gunicorn("app:app", env, workers=WORKERS, chdir=chdir, wait_path=None,
                  log=work / f"{name}.log") as server:
        wait_until_ok(server.port, "/feeds/all.rss", 600, server.process)
        results["cold"] = time.monotonic() - started
        print(f"[{name}] cold start, empty index: {results['cold']:.1f} s")
        count = args.queries if ours else args.baseline_queries
        feed_paths = [f"/feeds/all.rss?q={quote(q)}" for q in queries[:count]]
        p50, p99, failed = timed_queries(server.port, feed_paths)
        results["feed_p50"], results["feed_p99"] = p50, p99
        print(f"[{name}] /feeds/all.rss?q= random 1-3 words, {len(feed_paths)} distinct:"
              f" p50 {p50:.1f} ms, p99 {p99:.1f} ms, not 200: {failed}")
        packed_paths = [f"/feeds/all.rss?q={quote(q)}" for q in queries[2 * count : 3 * count]]
        p50, p99, failed = timed_queries(server.port, packed_paths, {"Accept-Encoding": "gzip"})
        results["gzip_p50"], results["gzip_p99"] = p50, p99
        print(f"[{name}] the same with Accept-Encoding: gzip, {len(packed_paths)} distinct:"
              f" p50 {p50:.1f} ms, p99 {p99:.1f} ms, not 200: {failed}")
        if ours:
            page_paths = [f"/search?q={quote(q)}" for q in queries[count : 2 * count]]
            p50, p99, failed = timed_queries(server.port, page_paths)
            results["page_p50"], results["page_p99"] = p50, p99
            print(f"[{name}] /search?q= random 1-3 words, {len(page_paths)} distinct:"
                  f" p50 {p50:.1f} ms, p99 {p99:.1f} ms, not 200: {failed}")
        base = f"http://127.0.0.1:{server.port}/feeds/all.rss"
        get(server.port, "/feeds/all.rss")
        hostile_paths = [f"/feeds/all.rss?q={quote(q)}" for q in hostile]
        flood = wrk_script(hostile_paths, work)
        alone: list[float] = []
        mixed: dict[str, list[float]] = {"flood": [], "crawler": []}
        for _ in range(args.trials):
            alone.append(wrk_load(wrk, base, args.seconds).requests_per_second)
            for kind in ("flood", "crawler"):
                thread = (hostile_run(wrk, server.port, flood, args.seconds + 2)
                          if kind == "flood" else
                          crawler_run(server.port, hostile_paths, args.seconds + 2, 50))
                time.sleep(1)
                mixed[kind].append(wrk_load(wrk, base, args.seconds).requests_per_second)
                thread.join()
                time.sleep(1)
        print(f"[{name}] plain polls/s alone: {spread(alone)}")
        for kind, label in (("flood", "wrk, 4 connections as fast as answers come"),
                            ("crawler", "one client, 50 distinct queries/s")):
            ratio = statistics.median(m / a for m, a in zip(mixed[kind], alone, strict=True))
            results[kind] = ratio
            print(f"[{name}] with hostile queries ({label}): {spread(mixed[kind])};"
                  f" ratio {ratio:.2f}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--baseline-queries", type=int, default=40)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--stores", type=Path, default=ROOT / "bench" / "stores")
    args = parser.parse_args()
    wrk = ensure_wrk()
    store = make_store(args.stores / f"store-{args.articles}", args.articles)
    common, rare = vocabulary(store)
    rng = random.Random(11)
    queries = list(dict.fromkeys(random_query(rng, common, rare) for _ in range(4000)))
    hostile = hostile_queries(rng, common, rare, 3000)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        commit = baseline_tree(work / "baseline")
        print(f"store: {args.articles} articles; gunicorn -w {WORKERS} (sync); today's filter"
              f" = commit {commit}; {os.cpu_count()} CPUs")
        env = {"FEEDS_CONTENT_DIR": str(store)}
        old = measure("today", work / "baseline", {**env, "FEEDS_CACHE_DIR": str(work / "c0")},
                      wrk, args, queries, hostile, work, ours=False)
        new = measure("search", ROOT, {**env, "FEEDS_CACHE_DIR": str(work / "c1")},
                      wrk, args, queries, hostile, work, ours=True)
    print("summary (ours against today's filter, same store, same run):")
    print(f"  cold start {new['cold']:.1f} s against {old['cold']:.1f} s"
          f" (target <= 60 s) {verdict(new['cold'] <= 60)}")
    print(f"  ?q= p50 {new['feed_p50']:.1f} ms against {old['feed_p50']:.1f} ms"
          f" (target <= 20 ms) {verdict(new['feed_p50'] <= 20)}")
    print(f"  ?q= p99 {new['feed_p99']:.1f} ms against {old['feed_p99']:.1f} ms"
          f" (target <= 100 ms) {verdict(new['feed_p99'] <= 100)}")
    print(f"  ?q= asking for gzip: p50 {new['gzip_p50']:.1f} ms against {old['gzip_p50']:.1f} ms,"
          f" p99 {new['gzip_p99']:.1f} ms against {old['gzip_p99']:.1f} ms")
    print(f"  /search p50 {new['page_p50']:.1f} ms, p99 {new['page_p99']:.1f} ms")
    for kind in ("flood", "crawler"):
        print(f"  polls kept under hostile queries ({kind}): {new[kind]:.2f} against"
              f" {old[kind]:.2f} (target >= 0.5) {verdict(new[kind] >= 0.5)}")


if __name__ == "__main__":
    main()
