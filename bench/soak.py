"""Soak: poll every feed concurrently while another process keeps changing the store.

Prints requests served, 5xx answers (must be 0), malformed answers (must be 0),
truncated entries seen (must be 0: slow writers are never published half-way)
and each worker's memory at the start and the end (must stay flat). Then, on a
server without FEEDS_BASE_URL, sends --distinct different ?since=, ?q=, ?limit=
and Host values each and prints how much each kind grew the workers' memory
(must stay within a few tens of MB: every per-worker table is bounded).
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import feedparser
from _common import get, gunicorn, make_store, rss_mb, verdict
from lxml import etree

FORMATS = ("rss", "atom", "json")
RUBRICS = ("society", "economics", "sport", "culture", "world", "tech", "nauka")


def mutate(store: Path, seconds: float, seed: int) -> None:
    """Add, rewrite and delete good and bad articles and photos until time is up."""
    from tests.storekit import article_text, image_bytes

    rng = random.Random(seed)
    good_photo = image_bytes("JPEG", (320, 200))
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        slot = store / "soak" / f"s{n % 40:03d}"
        slot.parent.mkdir(exist_ok=True)
        action = rng.randrange(10)
        text = article_text(rng.choice(["Общество", "Спорт", "Наука", "Экономика"]),
                            f"{rng.randint(1, 28)} марта 2025, {rng.randint(0, 23):02d}:"
                            f"{rng.randint(0, 59):02d}", f"Проверка {n} <b>&", ["Текст.", "Еще."])
        target = slot.with_suffix(".txt")
        if action <= 3:
            target.write_text(text, encoding="utf-8")
            slot.with_suffix(".jpg").write_bytes(good_photo if action % 2 else good_photo[:200])
        elif action == 4:
            target.write_bytes(b"")
        elif action == 5:
            target.write_bytes(bytes(rng.randrange(256) for _ in range(2000)))
        elif action == 6:
            target.write_text(article_text("Спорт", "31 февраля 2025, 25:61", "Плохая дата",
                                           ["Текст."]), encoding="utf-8")
        elif action == 7:
            with open(target, "w", encoding="utf-8") as slow:  # rewritten slowly, in place
                for line in text.splitlines(keepends=True):
                    slow.write(line)
                    slow.flush()
                    time.sleep(0.05)
        elif action == 8:
            target.unlink(missing_ok=True)
            slot.with_suffix(".jpg").unlink(missing_ok=True)
        else:
            target.write_text(text + "\x0b\x00\ud800".encode("utf-8", "surrogatepass")
                              .decode("utf-8", "replace"), encoding="utf-8")
        time.sleep(0.05)


def check(path: str, status: int, headers: dict[str, str], body: bytes) -> str | None:
    """What is wrong with an answer, or None."""
    if status in (304,):
        return None
    if status != 200:
        return f"HTTP {status}"
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    if len(body) != int(headers.get("content-length", len(body))) and \
            headers.get("content-encoding") != "gzip":
        return "length mismatch"
    if path.endswith(".json"):
        items = json.loads(body).get("items")
        if items is None:
            return "no items"
        # Every soak article ends with "Еще."; one without it was caught half-written.
        cut = [item["id"] for item in items if item.get("title", "").startswith("Проверка")
               and "Еще." not in item.get("content_html", "")]
        return f"truncated entry {cut[0]}" if cut else None
    if path.endswith((".rss", ".atom", ".opml")):
        etree.fromstring(body)
        if not path.endswith(".opml") and feedparser.parse(body).bozo:
            return "feedparser bozo"
    return None


def poll(port: int, urls: list[str], deadline: float, counts: Counter[str],
         problems: list[str], lock: threading.Lock) -> None:
    etags: dict[str, str] = {}
    rng = random.Random()
    while time.monotonic() < deadline:
        path = rng.choice(urls)
        headers = {}
        if rng.random() < 0.5:
            headers["Accept-Encoding"] = "gzip"
        if path in etags and rng.random() < 0.5:
            headers["If-None-Match"] = etags[path]
        try:
            reply = get(port, path, headers)
            error = check(path, reply.status, reply.headers, reply.body)
        except Exception as exc:  # any failure is a finding
            error, reply = f"{exc.__class__.__name__}: {exc}", None
        with lock:
            counts["requests"] += 1
            if reply is not None and reply.status >= 500:
                counts["5xx"] += 1
            if error:
                counts["malformed" if reply is not None else "errors"] += 1
                counts["truncated"] += error.startswith("truncated")
                if len(problems) < 10:
                    problems.append(f"{path}: {error}")
        if reply is not None and "etag" in reply.headers and "If-None-Match" not in headers \
                and "Accept-Encoding" not in headers:
            etags[path] = reply.headers["etag"]


def distinct_values(store: Path, cache: Path, count: int, threads: int = 4) -> None:
    """Send count different values of each query parameter and of Host; print memory."""
    kinds = {
        "?since=": lambda n: (f"/feeds/all.rss?since=2025-03-{1 + n % 28:02d}T"
                              f"{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}", {}),
        "?q=": lambda n: (f"/feeds/all.json?q=%D1%81%D0%BB%D0%BE%D0%B2%D0%BE{n}", {}),
        "?limit=": lambda n: (f"/feeds/all.atom?limit={1 + n}", {}),
        "Host": lambda n: ("/feeds/all.rss", {"Host": f"mirror{n}.example.by"}),
    }
    env = {"FEEDS_CONTENT_DIR": str(store), "FEEDS_CACHE_DIR": str(cache),
           "FEEDS_BASE_URL": ""}  # links follow the Host header
    with gunicorn("app:app", env) as server:
        pids = server.worker_pids()
        for _ in range(10):  # warm both workers on every kind first
            for make in kinds.values():
                path, headers = make(0)
                get(server.port, path, headers)
        print(f"distinct values: {count} of each kind, {threads} clients, 2 workers")
        worst = 0.0
        for kind, make in kinds.items():
            before = {pid: rss_mb(pid) for pid in pids}
            statuses: Counter[int] = Counter()
            lock = threading.Lock()

            def send(first: int, make: Callable[[int], tuple[str, dict[str, str]]] = make,
                     statuses: Counter[int] = statuses, lock: threading.Lock = lock) -> None:
                for n in range(first, count, threads):
                    path, headers = make(n + 1)
                    status = get(server.port, path, headers).status
                    with lock:
                        statuses[status] += 1

            started = time.monotonic()
            workers = [threading.Thread(target=send, args=(i,)) for i in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            after = {pid: rss_mb(pid) for pid in pids}
            growth = max(after[pid] - before[pid] for pid in pids)
            worst = max(worst, growth)
            shown = ", ".join(f"{before[pid]:.1f} -> {after[pid]:.1f} MB" for pid in pids)
            print(f"  {kind:8} {time.monotonic() - started:5.1f} s, answers"
                  f" {dict(sorted(statuses.items()))}, workers {shown}")
        print(f"largest growth of one worker for one kind: {worst:+.1f} MB (bounded = under"
              f" 40 MB) {verdict(worst < 40)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--pollers", type=int, default=8)
    parser.add_argument("--distinct", type=int, default=10_000,
                        help="different values of each query parameter and Host (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = make_store(work / "store", 60, photo_every=2)
        env = {"FEEDS_CONTENT_DIR": str(store), "FEEDS_CACHE_DIR": str(work / "cache")}
        urls = ["/", "/feeds.opml", "/feeds/all/archive/1.atom", "/feeds/yandex.rss",
                "/feeds/dzen.rss", "/photos/_default.jpg",
                *[f"/feeds/{name}.{fmt}" for name in ("all", *RUBRICS) for fmt in FORMATS]]
        with gunicorn("app:app", env) as server:
            mutator = multiprocessing.Process(target=mutate, args=(store, args.seconds, 7))
            counts: Counter[str] = Counter()
            problems: list[str] = []
            lock = threading.Lock()
            deadline = time.monotonic() + args.seconds
            threads = [threading.Thread(target=poll, args=(server.port, urls, deadline, counts,
                                                           problems, lock))
                       for _ in range(args.pollers)]
            mutator.start()
            for thread in threads:
                thread.start()
            time.sleep(min(5.0, args.seconds / 4))
            pids = server.worker_pids()
            start_memory = {pid: rss_mb(pid) for pid in pids}
            time.sleep(max(0.0, deadline - time.monotonic()) / 2)
            half_memory = {pid: rss_mb(pid) for pid in pids}
            for thread in threads:
                thread.join()
            mutator.join()
            end_pids = server.worker_pids()
            end_memory = {pid: rss_mb(pid) for pid in end_pids}
        growth = max((end_memory.get(pid, 0) - mb for pid, mb in half_memory.items()),
                     default=0.0)
        print(f"soak: {args.seconds:.0f} s, {args.pollers} pollers, {len(urls)} URLs,"
              f" 2 gunicorn workers, store changing about 15 times a second")
        print(f"requests served: {counts['requests']}"
              f" ({counts['requests'] / args.seconds:.0f}/s)")
        print(f"5xx answers: {counts['5xx']} {verdict(counts['5xx'] == 0)}")
        print(f"malformed answers: {counts['malformed']} {verdict(counts['malformed'] == 0)}")
        print(f"truncated entries (of the malformed): {counts['truncated']}"
              f" {verdict(counts['truncated'] == 0)}")
        print(f"connection errors: {counts['errors']} {verdict(counts['errors'] == 0)}")
        for pid, mb in start_memory.items():
            print(f"worker {pid}: {mb:.1f} MB after warm-up, {half_memory[pid]:.1f} MB at"
                  f" half time, {end_memory.get(pid, 0):.1f} MB at the end")
        if set(end_pids) != set(pids):
            print(f"workers replaced during the run: {sorted(set(pids) - set(end_pids))}")
        # The render cache fills up to its budget first; after that memory must not move.
        print(f"memory growth over the second half: {growth:+.1f} MB (flat = under 10 MB)"
              f" {verdict(growth < 10)}")
        for problem in problems:
            print("  problem:", problem)
        if args.distinct:
            distinct_values(store, work / "cache-distinct", args.distinct)


if __name__ == "__main__":
    main()
