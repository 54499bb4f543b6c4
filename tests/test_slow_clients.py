"""Slow clients: gunicorn only on loopback, behind nginx, which reads whole requests first."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.nginxkit import free_port, running_nginx, site_config
from tests.serverkit import ROOT, fetch, half_sent, running_server
from tests.storekit import tiny_store


def test_the_supplied_gunicorn_config_refuses_an_address_clients_reach(tmp_path: Path) -> None:
    store = tiny_store(tmp_path / "store")
    env = dict(os.environ, FEEDS_CONTENT_DIR=str(store), FEEDS_CACHE_DIR=str(tmp_path / "c"))
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
         "-b", f"0.0.0.0:{free_port()}", "app:app"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "refusing to listen on 0.0.0.0" in result.stderr


def test_half_sent_requests_hold_no_worker_behind_the_supplied_nginx(tmp_path: Path) -> None:
    store = tiny_store(tmp_path / "store")
    with running_server(store, tmp_path / "cache", workers=1) as server:
        with half_sent(server.port, 1):  # straight to gunicorn: its one worker is held
            started = time.monotonic()
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=1.5)
            try:
                connection.request("GET", "/feeds/sport.rss")
                blocked = connection.getresponse().status
            except OSError:
                blocked = 0
            finally:
                connection.close()
            assert blocked == 0 and time.monotonic() - started >= 1.4
        port = free_port()
        site = site_config("proxy.conf", port, upstream_port=server.port,
                           cache=tmp_path / "nginx-cache")
        with running_nginx(site, tmp_path / "nginx", port), half_sent(port, 16):
            started = time.monotonic()
            assert fetch(port, "/feeds/sport.atom").status == 200
            assert time.monotonic() - started < 5.0  # held, it would wait 60 s
