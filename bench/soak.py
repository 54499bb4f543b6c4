"""Soak: poll every feed concurrently while another process keeps changing the store.

Prints requests served, 5xx answers (must be 0), malformed answers (must be 0)
and each worker's memory at the start and the end (must stay flat).
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
            with open(target, "w", encoding="utf-8") as slow:  # a file written slowly
                for line in text.splitlines(keepends=True):
                    slow.write(line)
                    slow.flush()
                    time.sleep(0.01)
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
        return None if "items" in json.loads(body) else "no items"
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
                if len(problems) < 10:
                    problems.append(f"{path}: {error}")
        if reply is not None and "etag" in reply.headers and "If-None-Match" not in headers \
                and "Accept-Encoding" not in headers:
            etags[path] = reply.headers["etag"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--pollers", type=int, default=8)
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


if __name__ == "__main__":
    main()
