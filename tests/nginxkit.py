"""A real nginx (Debian's) with the project's configs, on a free 127.0.0.1 port.

The configs in deploy/nginx are what operators install; here they only get a
port, a root, an upstream and a cache folder of their own, inside a main
config that keeps pid, logs and temporary files in a work folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.serverkit import free_port, stop

__all__ = ["free_port", "running_nginx", "site_config"]

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "deploy" / "nginx"


def nginx_binary() -> str:
    """Debian's nginx; `make test` installs it on a machine without one."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)
    if found is None:
        raise RuntimeError("nginx is not installed (make test installs nginx-light)")
    return found


def site_config(name: str, port: int, root: Path | None = None,
                upstream_port: int | None = None, cache: Path | None = None) -> str:
    """deploy/nginx/<name> with this run's port, export folder, service and cache."""
    text = (CONFIGS / name).read_text(encoding="utf-8")
    swaps = {"listen 80;": f"listen 127.0.0.1:{port};"}
    if root is not None:
        swaps["root /srv/www;"] = f"root {root};"
    if upstream_port is not None:
        swaps["server 127.0.0.1:8000;"] = f"server 127.0.0.1:{upstream_port};"
    if cache is not None:
        swaps["/var/cache/nginx/feeds"] = str(cache)
    for old, new in swaps.items():
        if old not in text:
            raise ValueError(f"{name} no longer says {old!r}")
        text = text.replace(old, new)
    return text


@contextmanager
def running_nginx(site: str, workdir: Path, port: int, workers: int = 1) -> Iterator[int]:
    """Start nginx with one site config; yields its port once it accepts connections."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "site.conf").write_text(site, encoding="utf-8")
    temp = {name: workdir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    main = "\n".join([
        # Workers must read test folders (0700 under pytest): same user as the master.
        "user root;" if os.geteuid() == 0 else "",
        f"worker_processes {workers};",
        "daemon off;",
        f"pid {workdir}/nginx.pid;",
        f"error_log {workdir}/error.log warn;",
        "events { worker_connections 1024; }",
        "http {",
        "    access_log off;",
        f"    client_body_temp_path {temp['body']};",
        f"    proxy_temp_path {temp['proxy']};",
        f"    fastcgi_temp_path {temp['fastcgi']};",
        f"    uwsgi_temp_path {temp['uwsgi']};",
        f"    scgi_temp_path {temp['scgi']};",
        f"    include {workdir}/site.conf;",
        "}",
    ])
    (workdir / "nginx.conf").write_text(main + "\n", encoding="utf-8")
    command = [nginx_binary(), "-p", str(workdir), "-e", str(workdir / "error.log"),
               "-c", str(workdir / "nginx.conf")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                log = (workdir / "error.log").read_text() if (workdir / "error.log").exists() \
                    else ""
                raise RuntimeError(f"nginx exited: {process.stderr.read()!r} {log}")  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not listen within 10 s") from None
                time.sleep(0.05)
        yield port
    finally:
        stop(process)
