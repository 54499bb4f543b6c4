"""Shared pieces of the benchmarks: stores, gunicorn and granian processes, nginx, wrk,
HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_store(path: Path, articles: int, photo_every: int = 10) -> Path:
    """A synthetic store from bench/make_store.py, reused when already there."""
    marker = path / f".made-{articles}-{photo_every}"
    if not marker.exists():
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([PYTHON, str(ROOT / "bench" / "make_store.py"), str(path),
                        "--articles", str(articles), "--photo-every", str(photo_every)],
                       check=True, stdout=subprocess.DEVNULL)
        marker.touch()
    return path


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def get(port: int, path: str, headers: dict[str, str] | None = None,
        timeout: float = 30) -> Reply:
    """One request on a fresh connection (sync workers close each one anyway)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                     response.read())
    finally:
        connection.close()


@dataclass
class Gunicorn:
    """A server process (gunicorn, or granian) on 127.0.0.1:port."""

    port: int
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def gunicorn(app: str, env: dict[str, str], workers: int = 2, chdir: Path = ROOT,
             wait_path: str | None = "/feeds/all.rss", timeout: float = 120,
             log: Path | None = None, extra: tuple[str, ...] = ()) -> Iterator[Gunicorn]:
    """gunicorn with the project's gunicorn.conf.py on a free 127.0.0.1 port."""
    port = free_port()
    # A tree of its own (an older commit) brings its own settings file.
    config = chdir / "gunicorn.conf.py"
    config = config if config.exists() else ROOT / "gunicorn.conf.py"
    command = [PYTHON, "-m", "gunicorn", "-c", str(config), "-w", str(workers),
               "-b", f"127.0.0.1:{port}", "--timeout", "120", "--chdir", str(chdir), *extra,
               app]
    with serving(command, port, env, wait_path, timeout, log) as server:
        yield server


@contextmanager
def granian(env: dict[str, str], workers: int = 2, wait_path: str | None = "/feeds/all.rss",
            timeout: float = 120, log: Path | None = None) -> Iterator[Gunicorn]:
    """granian with the README's command line (the one the tests run), app:app."""
    from tests.serverkit import server_command

    port = free_port()
    command = [*server_command("granian", port, workers), "app:app"]
    with serving(command, port, env, wait_path, timeout, log) as server:
        yield server


@contextmanager
def serving(command: list[str], port: int, env: dict[str, str], wait_path: str | None,
            timeout: float, log: Path | None) -> Iterator[Gunicorn]:
    """Start command (a server on port), wait for wait_path, stop its process group."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        command,
        env={**os.environ, **env, "FEEDS_BASE_URL": env.get("FEEDS_BASE_URL",
                                                             f"http://127.0.0.1:{port}")},
        cwd=ROOT, start_new_session=True, stdout=out, stderr=out)
    server = Gunicorn(port, process)
    try:
        if wait_path is not None:
            wait_until_ok(port, wait_path, timeout, process)
        yield server
    finally:
        with_signal(process, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with_signal(process, signal.SIGKILL)
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def with_signal(process: subprocess.Popen[bytes], sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def wait_until_ok(port: int, path: str, timeout: float,
                  process: subprocess.Popen[bytes] | None = None) -> float:
    """Seconds until path answers 200 (503 while the index is built is waited out)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            if get(port, path, timeout=5).status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{path} did not answer 200 within {timeout} s")


def ensure_wrk() -> str:
    """Debian's wrk, installed if missing; the benchmark stops when it cannot be had."""
    found = shutil.which("wrk")
    if found:
        return found
    for command in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"],
                    ["apt-get", "install", "-y", "wrk"]):
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        if shutil.which("wrk"):
            break
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    return found


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    timeouts: int = 0  # requests wrk gave up on (--timeout)


def _ms(value: str) -> float:
    """wrk's durations: 835.00us, 1.70ms, 1.02s, 1.00m."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if found is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    number, unit = found.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk_load(wrk: str, url: str, seconds: float = 10,
             headers: dict[str, str] | None = None, timeout: float | None = None) -> Load:
    """Run wrk (2 threads, 16 connections) and read requests/s, p50, p99.

    A run in which nothing was answered gives 0 requests/s and NaN latencies.
    """
    command = [wrk, "-t2", "-c16", f"-d{seconds}s", "--latency"]
    if timeout is not None:
        command += ["--timeout", f"{timeout:g}s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Requests/sec" not in output or "50%" not in output:
        raise RuntimeError(f"wrk said:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    if re.search(r"^\s+0 requests in", output, re.M):
        p50 = p99 = float("nan")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    timeouts = re.search(r"Socket errors:.*timeout (\d+)", output)
    return Load(rps, p50, p99, int(non_2xx.group(1)) if non_2xx else 0,
                int(timeouts.group(1)) if timeouts else 0)


def spread(values: Sequence[float], digits: int = 2) -> str:
    """Median and range of several trials."""
    return (f"median {statistics.median(values):.{digits}f} (min {min(values):.{digits}f},"
            f" max {max(values):.{digits}f}, n={len(values)})")


@contextmanager
def nginx_fixed_file(body: bytes, work: Path, name: str = "all.rss") -> Iterator[int]:
    """Debian's nginx (one worker) serving body as one fixed file: the baseline."""
    from tests.nginxkit import running_nginx

    folder = work / "fixed"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(body)
    port = free_port()
    site = f"server {{ listen 127.0.0.1:{port}; root {folder}; }}\n"
    with running_nginx(site, work / "nginx-fixed", port):
        yield port


@contextmanager
def nginx_proxy(upstream: int, work: Path) -> Iterator[int]:
    """Debian's nginx (one worker) with deploy/nginx/proxy.conf in front of upstream."""
    from tests.nginxkit import running_nginx, site_config

    port = free_port()
    site = site_config("proxy.conf", port, upstream_port=upstream, cache=work / "nginx-cache")
    with running_nginx(site, work / "nginx-proxy", port):
        yield port


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
