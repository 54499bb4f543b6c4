"""The README's two nginx set-ups, with Debian's nginx: a static mirror, a micro-cache."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest
from flask import Flask

from feeds.cli import export_paths
from feeds.export import file_for
from tests.appkit import make_app
from tests.nginxkit import CONFIGS, free_port, running_nginx, site_config
from tests.serverkit import fetch, running_server
from tests.storekit import date_line, tiny_store, write_article

ROOT = Path(__file__).resolve().parent.parent


def test_readme_shows_the_tested_configs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("mirror.conf", "proxy.conf"):
        text = (CONFIGS / name).read_text(encoding="utf-8")
        assert f"```nginx\n{text}```" in readme, name


# -- the static mirror ----------------------------------------------------------------


@pytest.fixture
def mirror(tmp_path: Path) -> tuple[Flask, Path, Path]:
    store = tiny_store(tmp_path / "store")
    for n in range(12):  # with the tiny store: one full archive page, one filling
        write_article(store, f"a{n:02d}", "Экономика", date_line(2024, 5, 1 + n, 9, 0),
                      f"Экономика {n}")
    app = make_app(store, tmp_path / "cache", archive_page_size=10)
    out = tmp_path / "www"
    result = app.test_cli_runner().invoke(args=["build", str(out)])
    assert result.exit_code == 0, result.output
    return app, store, out


def test_mirror_serves_the_service_bytes_types_and_lifetimes(
        mirror: tuple[Flask, Path, Path], tmp_path: Path) -> None:
    app, _store, out = mirror
    client = app.test_client()
    port = free_port()
    with running_nginx(site_config("mirror.conf", port, root=out), tmp_path / "nginx", port):
        paths = export_paths(app)
        assert "/favicon.ico" in paths and "/feeds/all/archive/2.json" in paths
        for path in paths:
            served = client.get(path)
            plain = fetch(port, path)
            assert plain.status == 200, path
            assert plain.body == served.data == (out / file_for(path)).read_bytes(), path
            assert plain.headers["content-type"] == served.headers["Content-Type"], path
            packed = fetch(port, path, {"Accept-Encoding": "gzip"})
            if served.mimetype.startswith("image/"):
                assert "content-encoding" not in packed.headers
                continue
            assert packed.headers.get("content-encoding") == "gzip", path
            assert packed.body == client.get(path, headers={"Accept-Encoding": "gzip"}).data
            assert gzip.decompress(packed.body) == served.data
            assert packed.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
        lifetimes = {path: fetch(port, path).headers["cache-control"]
                     for path in ("/feeds/all/archive/1.rss", "/feeds/all/archive/2.atom",
                                  "/feeds/economics/archive/1.json", "/feeds/all.rss",
                                  "/articles/a01.html", "/photos/001_sport.png", "/")}
        assert lifetimes == {path: client.get(path).headers["Cache-Control"]
                             for path in lifetimes}
        assert lifetimes["/feeds/all/archive/1.rss"] == "public, max-age=3600"
        assert lifetimes["/feeds/all/archive/2.atom"] == "public, max-age=120"
        assert fetch(port, "/favicon.ico").headers["content-type"] == "image/vnd.microsoft.icon"
        assert fetch(port, "/.feeds-build/manifest.json").status == 404
        assert fetch(port, "/.feeds-build/filling/feeds/all/archive/2.rss").status == 404


def test_mirror_follows_a_rebuild(mirror: tuple[Flask, Path, Path], tmp_path: Path) -> None:
    app, store, out = mirror
    port = free_port()
    with running_nginx(site_config("mirror.conf", port, root=out), tmp_path / "nginx", port):
        assert fetch(port, "/articles/001_sport.html").status == 200
        (store / "001_sport.txt").unlink()
        write_article(store, "new_one", "Экономика", date_line(2025, 6, 1, 9, 0), "Свежая")
        app.extensions["feeds"].store.refresh()
        assert app.test_cli_runner().invoke(args=["build", str(out)]).exit_code == 0
        assert fetch(port, "/articles/001_sport.html").status == 404
        assert fetch(port, "/photos/001_sport.png").status == 404
        feed = fetch(port, "/feeds/all.rss", {"Accept-Encoding": "gzip"})
        text = gzip.decompress(feed.body)
        assert b"new_one" in text and b"001_sport" not in text


# -- the micro-cache in front of the service ---------------------------------------------


def test_proxy_micro_cache_is_fresh_within_seconds(tmp_path: Path) -> None:
    store = tiny_store(tmp_path / "store")
    with running_server(store, tmp_path / "cache", workers=1) as server:
        port = free_port()
        site = site_config("proxy.conf", port, upstream_port=server.port,
                           cache=tmp_path / "nginx-cache")
        with running_nginx(site, tmp_path / "nginx", port):
            first = fetch(port, "/feeds/all.rss")
            again = fetch(port, "/feeds/all.rss")
            assert first.status == again.status == 200
            assert first.body == again.body == server.get("/feeds/all.rss").body
            assert again.headers["x-cache-status"] == "HIT"
            assert again.headers["cache-control"] == "public, max-age=120"
            assert "x-accel-expires" not in again.headers  # for nginx, not for readers
            packed = fetch(port, "/feeds/all.rss", {"Accept-Encoding": "gzip, br"})
            assert packed.headers["content-encoding"] == "gzip"
            assert packed.headers["vary"] == "Accept-Encoding"
            assert gzip.decompress(packed.body) == first.body
            assert fetch(port, "/feeds/all.rss", {"Accept-Encoding": "br, gzip"}).headers[
                "x-cache-status"] == "HIT"  # one entry for every way of asking for gzip
            delta = fetch(port, "/feeds/all.rss", {"A-IM": "feed",
                                                   "If-None-Match": '"unknown"'})
            assert delta.headers["x-cache-status"] == "BYPASS"

            # Kept only until the end of the second it was stored in (not nginx's 1-2 s).
            time.sleep(1.0 - time.time() % 1.0 + 0.05)
            later = fetch(port, "/feeds/all.rss")
            assert later.body == first.body
            assert later.headers["x-cache-status"] in ("REVALIDATED", "STALE", "UPDATING",
                                                       "EXPIRED")

            write_article(store, "fresh", "Общество", date_line(2025, 6, 1, 9, 0), "Свежая")
            started = time.monotonic()
            while b"fresh" not in fetch(port, "/feeds/all.rss").body:
                assert time.monotonic() - started < 10, "the new article never showed"
                time.sleep(0.05)


def test_forwarded_scheme_never_fills_the_cache(tmp_path: Path) -> None:
    """Without FEEDS_BASE_URL links follow the request: nothing is stored for everyone."""
    store = tiny_store(tmp_path / "store")
    with running_server(store, tmp_path / "cache", workers=1, FEEDS_BASE_URL="") as server:
        direct = server.get("/feeds/all.rss", {"X-Forwarded-Proto": "https"})
        origin = f"127.0.0.1:{server.port}/".encode()
        assert b"http://" + origin in direct.body  # gunicorn.conf.py trusts no forwarded header
        assert b"https://" + origin not in direct.body
        port = free_port()
        site = site_config("proxy.conf", port, upstream_port=server.port,
                           cache=tmp_path / "nginx-cache")
        with running_nginx(site, tmp_path / "nginx", port):
            for _ in range(2):
                tricked = fetch(port, "/feeds/all.rss", {"X-Forwarded-Proto": "https",
                                                         "Host": "feeds.example"})
                assert tricked.headers["cache-control"] == "private, max-age=120"
                assert tricked.headers["x-cache-status"] == "MISS"
                assert b"https://feeds.example" not in tricked.body
                assert b"http://feeds.example/" in tricked.body
            other = fetch(port, "/feeds/all.rss", {"Host": "other.example"})
            assert b"feeds.example" not in other.body
