"""Run the real service under gunicorn on 127.0.0.1 for HTTP-level tests."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, headers: dict[str, str] | None = None,
            method: str = "GET") -> Reply:
        return fetch(self.port, path, headers, method)


def fetch(port: int, path: str, headers: dict[str, str] | None = None,
          method: str = "GET") -> Reply:
    """One request on a fresh connection, so the workers share the load."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                     response.read())
    finally:
        connection.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after 10 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def half_sent(port: int, count: int) -> Iterator[list[socket.socket]]:
    """count connections that send the start of a request and then wait, as a slowloris
    does; closed on leaving."""
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(b"GET /feeds/all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: ")
            held.append(connection)
        time.sleep(0.3)  # let the server pick them up (a sync worker then reads and waits)
        yield held
    finally:
        for connection in held:
            connection.close()


# The README's granian command line, less the address and worker count.
GRANIAN_OPTIONS = ("--interface wsgi --http 1 --no-ws --blocking-threads 2"
                   " --http1-header-read-timeout 10000 --workers-kill-timeout 20"
                   " --respawn-failed-workers")


def server_command(server: str, port: int, workers: int) -> list[str]:
    """gunicorn with gunicorn.conf.py, or granian as the README runs it; add the app."""
    if server == "granian":
        return [sys.executable, "-m", "granian", *GRANIAN_OPTIONS.split(), "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers), "--working-dir", str(ROOT)]
    return [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
            "-w", str(workers), "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT)]


@contextmanager
def running_server(content: Path, cache: Path, workers: int = 2, args: tuple[str, ...] = (),
                   server: str = "gunicorn", **env: str) -> Iterator[Server]:
    port = free_port()
    environment = {**os.environ, "FEEDS_CONTENT_DIR": str(content),
                   "FEEDS_CACHE_DIR": str(cache), "FEEDS_BASE_URL": f"http://127.0.0.1:{port}",
                   "FEEDS_REFRESH_INTERVAL": "0.5", **env}  # FEEDS_BASE_URL="" unsets it
    command = [*server_command(server, port, workers), *args, "app:app"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    running = Server(port, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if running.get("/feeds/all.rss").status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.1)
        yield running
    finally:
        stop(process)
