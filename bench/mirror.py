"""The live mirror at 100,000 articles: the static export and nginx in front.

Prints the static export's full build, no-change rebuild, one-article rebuild,
one deletion (page, photo and feed entries gone), a byte-for-byte comparison
with gunicorn's answers (gzip twins included), `build --watch` latency; then,
with Debian's nginx (one worker each), requests/s of nginx serving the mirror
and of nginx's micro-cache in front of gunicorn, as ratios to nginx serving one
fixed file in the same run, and the time for a new article to show through
each. Targets: no-change rebuild a few seconds, one article well under 10 s,
both ratios >= 0.8, freshness <= 2 s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import (
    PYTHON,
    ROOT,
    ensure_wrk,
    free_port,
    get,
    gunicorn,
    make_store,
    nginx_fixed_file,
    nginx_proxy,
    spread,
    verdict,
    wrk_load,
)

from feeds.export import CHANGES, MANIFEST, STATE_DIR, file_for
from tests.nginxkit import running_nginx, site_config
from tests.storekit import date_line, image_bytes, write_article

BASE = "https://feeds.example"
FEED = "/feeds/all.rss"


def build(env: dict[str, str], out: Path) -> tuple[float, str]:
    """Seconds for one `flask --app app build OUT`, and its summary line."""
    started = time.monotonic()
    done = subprocess.run([PYTHON, "-m", "flask", "--app", "app", "build", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        raise RuntimeError("build failed")
    return seconds, done.stdout.strip().splitlines()[-1]


def changes(out: Path) -> dict[str, list[str]]:
    return json.loads((out / STATE_DIR / CHANGES).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def new_article(store: Path, n: int) -> str:
    """A new newest article (with a photo) in a folder of its own, the way the README asks
    the newsroom to write: into a hidden folder first, then renamed into place, photo first."""
    article_id = f"mirror_{n}_{time.time_ns()}"
    staging = store / ".incoming"
    write_article(staging, article_id, "Общество", date_line(2026, 11, 21, 12, n % 60),
                  f"Срочная новость {n}", photo=image_bytes())
    folder = store / "2026" / "11" / "21"
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".jpg", ".txt"):
        os.replace(staging / f"{article_id}{suffix}", folder / f"{article_id}{suffix}")
    return article_id


def remove_article(store: Path, article_id: str) -> None:
    for suffix in (".txt", ".jpg"):
        (store / "2026" / "11" / "21" / f"{article_id}{suffix}").unlink(missing_ok=True)


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> float:
    """Seconds until condition() holds; the timeout itself (a FAIL) when it never does."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            return timeout
        time.sleep(0.02)
    return time.monotonic() - started


@contextmanager
def watching(env: dict[str, str], out: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`build OUT --watch`, once its first run is done."""
    with open(log, "wb") as sink:
        process = subprocess.Popen([PYTHON, "-m", "flask", "--app", "app", "build", str(out),
                                    "--watch"], cwd=ROOT, env=env, stdout=sink, stderr=sink,
                                   start_new_session=True)
        try:
            wait_for(lambda: b"watching" in log.read_bytes() or process.poll() is not None, 600)
            if process.poll() is not None:
                raise RuntimeError(log.read_text()[-2000:])
            yield process
        finally:
            process.terminate()
            process.wait(30)


def compare(port: int, out: Path, extra: list[str], sample: int) -> tuple[int, int]:
    """(files compared, mismatches): owned files and .gz twins against gunicorn's answers."""
    owned = json.loads((out / STATE_DIR / MANIFEST).read_bytes())["files"]
    paths = [p for p in owned if not p.startswith(("/articles/", "/photos/", "/feeds/"))]
    paths += [p for p in owned if p.startswith("/feeds/") and "/archive/" not in p]
    archive = [p for p in owned if "/archive/" in p]
    paths += random.Random(7).sample(archive, min(sample // 2, len(archive)))
    leaves = [p for p in owned if p.startswith(("/articles/", "/photos/"))]
    paths += random.Random(8).sample(leaves, min(sample // 2, len(leaves)))
    paths += [p for p in extra if p in owned]
    compared = mismatches = 0
    for path in dict.fromkeys(paths):
        target = out / file_for(path)
        body = target.read_bytes()
        if get(port, path).body != body:
            mismatches += 1
            print("  mismatch:", path)
        compared += 1
        if owned[path][3] >= 0:
            packed = get(port, path, {"Accept-Encoding": "gzip"}).body
            twin = target.with_name(target.name + ".gz").read_bytes()
            if packed != twin or gzip.decompress(twin) != body:
                mismatches += 1
                print("  gzip mismatch:", path)
            compared += 1
    return compared, mismatches


def load(wrk: str, port: int, path: str, seconds: int) -> float:
    result = wrk_load(wrk, f"http://127.0.0.1:{port}{path}", seconds)
    if result.non_2xx:
        raise RuntimeError(f"{result.non_2xx} answers were not 2xx for {path}")
    return result.requests_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8, help="per wrk run")
    parser.add_argument("--sample", type=int, default=2000, help="files compared")
    parser.add_argument("--stores", type=Path, default=ROOT / "bench" / "stores")
    args = parser.parse_args()
    wrk = ensure_wrk()
    # A store of its own: this benchmark adds and removes articles in it.
    store = make_store(args.stores / f"mirror-store-{args.articles}", args.articles)
    work = args.stores / f"mirror-{args.articles}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out = work / "www"
    env = {**os.environ, "FEEDS_CONTENT_DIR": str(store), "FEEDS_CACHE_DIR": str(work / "cache"),
           "FEEDS_BASE_URL": BASE, "FEEDS_REFRESH_INTERVAL": "0.5"}
    added: list[str] = []
    print(f"store: {args.articles} articles")
    try:
        seconds, summary = build(env, out)
        print(f"full build: {seconds:.1f} s ({summary})")
        quiet = [build(env, out)[0] for _ in range(args.trials)]
        print(f"no-change rebuild, s: {spread(quiet)} {verdict(max(quiet) <= 10)}")
        one, touched = [], []
        for n in range(args.trials):
            added.append(new_article(store, n))
            seconds, summary = build(env, out)
            one.append(seconds)
            report = changes(out)
            touched += ["/" + p for p in report["added"] + report["changed"]
                        if not p.endswith(".gz")]
        print(f"one-article rebuild, s: {spread(one)} ({summary}) {verdict(max(one) < 10)}")
        gone = added.pop()
        remove_article(store, gone)
        seconds, summary = build(env, out)
        feed = (out / "feeds" / "all.rss").read_bytes()
        vanished = (not (out / "articles" / f"{gone}.html").exists()
                    and not (out / "photos" / f"{gone}.jpg").exists()
                    and gone.encode() not in feed
                    and gone.encode() not in (out / "feeds" / "society.rss").read_bytes())
        print(f"one deletion: {seconds:.1f} s ({summary}); page, photo and feed entries"
              f" gone {verdict(vanished)}")
        with gunicorn("app:app", env, workers=2, timeout=600) as server:
            compared, mismatches = compare(server.port, out, touched, args.sample)
            print(f"byte-for-byte against gunicorn: {compared} files, {mismatches} mismatches"
                  f" {verdict(compared > 0 and mismatches == 0)}")
            with watching(env, out, work / "watch.log"):
                latencies = []
                for n in range(args.trials):
                    added.append(new_article(store, 100 + n))
                    latencies.append(wait_for(
                        lambda: added[-1].encode() in (out / "feeds" / "all.rss").read_bytes()))
                    time.sleep(1)
                print(f"--watch: new article in OUT's feeds, s: {spread(latencies)}"
                      f" {verdict(max(latencies) <= 2)}")
                gone = added.pop()
                remove_article(store, gone)
                seconds = wait_for(lambda: not (out / "articles" / f"{gone}.html").exists())
                print(f"--watch: deletion applied in {seconds:.2f} s")
                serve_through_nginx(args, wrk, work, out, server.port, store, added)
    finally:
        for article_id in added:
            remove_article(store, article_id)


def serve_through_nginx(args: argparse.Namespace, wrk: str, work: Path, out: Path,
                        upstream: int, store: Path, added: list[str]) -> None:
    mirror = free_port()
    with nginx_fixed_file((out / "feeds" / "all.rss").read_bytes(), work) as fixed, \
            running_nginx(site_config("mirror.conf", mirror, root=out), work / "nginx-mirror",
                          mirror), \
            nginx_proxy(upstream, work) as proxy:
        ports = [fixed, mirror, proxy]
        for port in ports[1:]:
            assert get(port, FEED).status == 200
        rates: dict[str, list[float]] = {"fixed": [], "mirror": [], "proxy": []}
        for _ in range(args.trials):
            rates["fixed"].append(load(wrk, ports[0], "/all.rss", args.seconds))
            rates["mirror"].append(load(wrk, ports[1], FEED, args.seconds))
            rates["proxy"].append(load(wrk, ports[2], FEED, args.seconds))
        print(f"nginx, one fixed file: {spread(rates['fixed'])} requests/s")
        for name, label in (("mirror", "nginx serving the mirror"),
                            ("proxy", "nginx micro-cache before gunicorn")):
            ratios = [rate / fixed for rate, fixed in zip(rates[name], rates["fixed"],
                                                          strict=True)]
            # Judged on the median of each trial's ratio to the fixed file in that trial.
            print(f"{label}: {spread(rates[name])} requests/s; ratio to the fixed file"
                  f" {spread(ratios)} {verdict(statistics.median(ratios) >= 0.8)}")
        fresh: dict[str, list[float]] = {"mirror": [], "proxy": []}
        for n in range(args.trials):
            added.append(new_article(store, 200 + n))
            marker = added[-1].encode()
            started = time.monotonic()
            waiting = {"mirror": ports[1], "proxy": ports[2]}
            while waiting:
                for name, port in list(waiting.items()):
                    if marker in get(port, FEED).body:
                        fresh[name].append(time.monotonic() - started)
                        del waiting[name]
                if time.monotonic() - started > 30:  # reported as 30 s, a FAIL
                    for name in waiting:
                        fresh[name].append(time.monotonic() - started)
                    break
                time.sleep(0.02)
            time.sleep(1)
        for name, label in (("mirror", "the mirror (--watch)"), ("proxy", "the micro-cache")):
            print(f"new article visible through {label}, s: {spread(fresh[name])}"
                  f" {verdict(max(fresh[name]) <= 2)}")


if __name__ == "__main__":
    main()
