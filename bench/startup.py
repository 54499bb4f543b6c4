"""What a large archive costs: start, freshness, idle CPU and memory, old code against new.

For each store size (100,000 and 300,000 articles by default) and for each code
tree (the commits given by --new and --baseline, each unpacked with `git archive`
into a temporary folder), under gunicorn with two sync workers:

- cold start (empty index) and warm start (index on disk, median of 3): seconds
  from launching gunicorn until /feeds/all.rss answers 200;
- freshness: a new article written (atomically) into the newest day folder,
  seconds until each worker's /feeds/all.rss shows it (the worker answering a
  connection is found through /proc), median and max over the trials;
- idle CPU of each worker over a quiet spell, in % of one core;
- RSS and PSS of each worker;
- the same with `--preload` (the old code deadlocks there: reported, not waited on);
- freshness with FEEDS_SETTLE_TIME=0 too, where the tree has that setting: files
  younger than the settle time (1 s by default) are held back on purpose.

At the end of each size, a table puts the figures of both trees side by side.
Each tree's bytecode is compiled once after unpacking, as a deployed tree has it.
`--quick` measures starts and memory only; `--cache DIR` keeps each commit's index
between runs (the cold start is then not measured).

Figures of both trees are measured in the same run, one after the other.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import PYTHON, ROOT, Gunicorn, get, gunicorn, make_store, verdict, wait_until_ok

FEED = "/feeds/all.rss"
_LINGER = 5.0  # seconds the first server of each tree runs on after its first answer
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def article(title: str) -> str:
    from tests.storekit import article_text

    return article_text("Общество", "23 ноября 2026, 10:00", title,
                        ["Первый абзац.", "Второй абзац."])


def unpack(ref: str, into: Path) -> Path:
    """The tree of a commit, as plain files (no git metadata, nothing shared), with its
    bytecode compiled as a deployed tree has it: else, where the environment forbids
    writing it, every worker compiles every module again at every start."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(into)], check=True,
                   stdout=subprocess.DEVNULL)
    return into


def _socket_inode(server_port: int, client_port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (int(local.rsplit(":", 1)[1], 16) == server_port
                    and int(remote.rsplit(":", 1)[1], 16) == client_port and fields[9] != "0"):
                return fields[9]
    return None


def worker_of(server: Gunicorn, client_port: int, pids: list[int]) -> int | None:
    """The worker holding the accepted end of our connection."""
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        inode = _socket_inode(server.port, client_port)
        if inode is not None:
            target = f"socket:[{inode}]"
            for pid in pids:
                fds = Path(f"/proc/{pid}/fd")
                for fd in os.listdir(fds):
                    try:
                        if os.readlink(fds / fd) == target:
                            return pid
                    except OSError:
                        continue
        time.sleep(0.002)
    return None


def ask(server: Gunicorn, pids: list[int]) -> tuple[int | None, bytes]:
    """One GET of the feed: (worker pid, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.connect()
        pid = worker_of(server, connection.sock.getsockname()[1], pids)
        connection.request("GET", FEED)
        return pid, connection.getresponse().read()
    finally:
        connection.close()


def newest_folder(store: Path) -> Path:
    folder = store
    while True:
        subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
        if not subfolders:
            return folder
        folder = subfolders[-1]


def freshness(server: Gunicorn, store: Path, trials: int) -> dict[int, list[float]]:
    """Per worker, seconds from writing a new article until its feed shows it."""
    pids = server.worker_pids()
    seen: dict[int, list[float]] = {pid: [] for pid in pids}
    folder = newest_folder(store)
    written = []
    for n in range(trials):
        marker = f"Свежая новость {n} {time.time_ns()}"
        path = folder / f"fresh{n}-{time.time_ns()}.txt"
        hidden = folder / f".{path.name}"
        hidden.write_text(article(marker), encoding="utf-8")
        started = time.monotonic()
        os.replace(hidden, path)
        written.append(path)
        first: dict[int, float] = {}
        while len(first) < len(pids) and time.monotonic() - started < 30:
            pid, body = ask(server, pids)
            if pid is not None and pid not in first and marker.encode() in body:
                first[pid] = time.monotonic() - started
            time.sleep(0.01)
        for pid in pids:
            seen[pid].append(first.get(pid, float("inf")))
        time.sleep(0.5)
    for path in written:
        path.unlink()
    return seen


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def idle_cpu(server: Gunicorn, seconds: float) -> dict[int, float]:
    """% of one core each worker used while nobody asked anything."""
    pids = server.worker_pids()
    before = {pid: cpu_seconds(pid) for pid in pids}
    time.sleep(seconds)
    return {pid: 100 * (cpu_seconds(pid) - before[pid]) / seconds for pid in pids}


def memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            values[name] = int(rest.split()[0]) / 1024
    return values["Rss"], values["Pss"]


def start_time(code: Path, env: dict[str, str], extra: tuple[str, ...],
               timeout: float, linger: float = 0.0) -> float | None:
    """Seconds from launch to the first 200 of the feed; None if it never came. The
    server then runs on for linger seconds (a server that ran a while saves its state
    for the next start, as every server in service does)."""
    started = time.monotonic()
    with gunicorn("app:app", env, chdir=code, wait_path=None, extra=extra) as server:
        try:
            wait_until_ok(server.port, FEED, timeout, server.process)
        except RuntimeError:
            return None
        took = time.monotonic() - started
        time.sleep(linger)
        return took


def running(code: Path, env: dict[str, str], extra: tuple[str, ...], args: argparse.Namespace,
            store: Path, say: Callable[[str, str, str], None], fresh_only: bool = False) -> None:
    """Freshness, idle CPU and memory of one warm server."""
    mode = " ".join(extra) or ("settle 0" if fresh_only else "-w 2")
    with gunicorn("app:app", env, chdir=code, wait_path=None, extra=extra) as server:
        try:
            wait_until_ok(server.port, FEED, args.preload_timeout, server.process)
        except RuntimeError:
            say(f"no answer within {args.preload_timeout:.0f} s (deadlock): nothing to measure",
                f"{mode}: freshness", "deadlock")
            return
        for n in range(20):  # a little ordinary traffic first
            get(server.port, f"/feeds/all/archive/{1 + n * 7}.rss")
        time.sleep(3)
        if args.quick:
            say_memory(server, mode, say)
            return
        if not fresh_only:
            shares = idle_cpu(server, args.idle)
            for pid, share in shares.items():
                say(f"idle CPU, worker {pid}: {share:.2f} % of a core over {args.idle:.0f} s"
                    f" (target < 1 %) {verdict(share < 1)}", "", "")
            say("", f"{mode}: idle CPU per worker",
                " / ".join(f"{share:.2f} %" for share in shares.values()))
        seen = freshness(server, store, args.trials)
        every = [max(times) for times in zip(*seen.values(), strict=True)]
        for pid, times in seen.items():
            say(f"freshness, worker {pid}: median {statistics.median(times):.2f} s,"
                f" max {max(times):.2f} s", "", "")
        median, worst = statistics.median(every), max(every)
        say(f"freshness, every worker: median {median:.2f} s, max {worst:.2f} s over"
            f" {len(every)} trials (target <= 1 s, <= 2 s)"
            f" {verdict(median <= 1 and worst <= 2)}", f"{mode}: freshness, every worker",
            f"{median:.2f} s / max {worst:.2f} s")
        if not fresh_only:
            say_memory(server, mode, say)


def say_memory(server: Gunicorn, mode: str, say: Callable[[str, str, str], None]) -> None:
    sizes = [memory(pid) for pid in server.worker_pids()]
    for rss, pss in sizes:
        say(f"memory, a worker: RSS {rss:.0f} MB, PSS {pss:.0f} MB (target <= 150 MB)"
            f" {verdict(pss <= 150 and rss <= 150)}", "", "")
    say("", f"{mode}: RSS / PSS per worker",
        ", ".join(f"{rss:.0f} / {pss:.0f} MB" for rss, pss in sizes))


Table = dict[str, dict[str, str]]  # figure -> tree -> value


def measure(label: str, code: Path, store: Path, cache: Path, args: argparse.Namespace,
            table: Table) -> None:
    def say(line: str, figure: str, value: str) -> None:
        if line:
            print(f"  [{label}] {line}", flush=True)
        if figure:
            table.setdefault(figure, {})[label] = value

    env = {"FEEDS_CONTENT_DIR": str(store), "FEEDS_CACHE_DIR": str(cache)}
    if any(cache.glob("index-*.sqlite3")):  # kept by --cache from an earlier run
        say("cold start: not measured, the index of an earlier run is kept", "", "")
        start_time(code, env, (), 120, linger=_LINGER)
    else:
        cold = start_time(code, env, (), args.cold_timeout, linger=_LINGER)
        shown = f"{cold:.1f} s" if cold else "no answer"
        say(f"cold start, empty index: {shown}", "cold start (empty index)", shown)
    warm = [start_time(code, env, (), 120) for _ in range(args.starts)]
    times = [w for w in warm if w is not None]
    if times:
        median = statistics.median(times)
        say(f"warm start, index on disk: median {median:.2f} s"
            f" ({', '.join(f'{t:.2f}' for t in times)}) (target <= 1 s) {verdict(median <= 1)}",
            "warm start, median (range)", f"{median:.2f} s ({min(times):.2f}-{max(times):.2f})")
    begun = start_time(code, env, ("--preload",), args.preload_timeout)
    shown = f"{begun:.2f} s" if begun else f"no answer in {args.preload_timeout:.0f} s"
    say(f"warm start with --preload: {shown}", "warm start, --preload", shown)
    for extra in ((), ("--preload",)):
        running(code, env, extra, args, store, say)
    if args.quick:
        return
    if "FEEDS_SETTLE_TIME" in (code / "feeds" / "config.py").read_text(encoding="utf-8"):
        # Files younger than the settle time (1 s by default) wait: the store's own
        # cost shows without it.
        running(code, {**env, "FEEDS_SETTLE_TIME": "0"}, (), args, store, say, fresh_only=True)


def print_table(size: int, table: Table, labels: list[str]) -> None:
    print(f"\n{size} articles, gunicorn -w 2 (sync):")
    width = max(len(figure) for figure in table) + 2
    print(" " * width + "".join(f"{label:>34}" for label in labels))
    for figure, values in table.items():
        print(f"{figure:<{width}}" + "".join(f"{values.get(label, '-'):>34}"
                                             for label in labels))
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--baseline", default="c728285",
                        help="commit measured as today's code ('' to skip)")
    parser.add_argument("--new", default="HEAD", help="commit measured as the new code")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU sampling")
    parser.add_argument("--starts", type=int, default=3, help="warm starts measured")
    parser.add_argument("--cold-timeout", type=float, default=600.0)
    parser.add_argument("--preload-timeout", type=float, default=30.0)
    parser.add_argument("--stores", type=Path, default=ROOT / "bench" / "stores")
    parser.add_argument("--only", choices=("base", "new"), help="measure one tree only")
    parser.add_argument("--quick", action="store_true",
                        help="starts and memory only: no idle CPU, no freshness")
    parser.add_argument("--cache", type=Path,
                        help="keep each tree's index here between runs (no cold start then)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trees = []
        if args.baseline and args.only != "new":
            trees.append((f"today {args.baseline}", unpack(args.baseline, work / "base")))
        if args.only != "base":  # a copy: editing the worktree meanwhile changes nothing
            sha = subprocess.run(["git", "rev-parse", "--short", args.new], cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout.strip()
            trees.append((f"new {sha}", unpack(args.new, work / "new")))
        for size in args.sizes:
            store = make_store(args.stores / f"store-{size}", size)
            print(f"store: {size} articles; gunicorn -w 2 (sync)", flush=True)
            table: Table = {}
            for label, code in trees:
                commit = label.split()[-1]
                cache = (args.cache or work) / f"cache-{size}-{commit}"
                measure(label, code, store, cache, args, table)
            print_table(size, table, [label for label, _ in trees])


if __name__ == "__main__":
    main()
