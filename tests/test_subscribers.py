"""Subscriber statistics from fetchers' User-Agents: live and from access logs."""

from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from feeds.admin import live_counts
from feeds.subscribers import Counts, Fetcher, Poll, identify, parse_log_line, today
from tests.conftest import make_app
from tests.storekit import tiny_store

TOKEN = "stats-token"
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
           " Chrome/131.0.0.0 Safari/537.36")

# User-Agents as the fetchers document them (and as they show up in access logs).
REAL_AGENTS = [
    ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; )",
     Fetcher("Feedly", 16)),
    ("Feedly/1.0 (+https://feedly.com/poller.html; 245 subscribers; )", Fetcher("Feedly", 245)),
    ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; like FeedFetcher-Google)",
     Fetcher("Feedly")),
    ("Mozilla/5.0 (compatible; inoreader.com; 42 subscribers)", Fetcher("Inoreader", 42)),
    ("Mozilla/5.0 (compatible; Inoreader/1.0; +http://www.inoreader.com/feed-fetcher;"
     " 1 subscriber; )", Fetcher("Inoreader", 1)),
    ('NewsBlur Feed Fetcher - 5 subscribers - https://www.newsblur.com/site/6129823/belta'
     ' ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko)'
     ' Chrome/120.0.0.0 Safari/537.36")', Fetcher("NewsBlur", 5, "6129823")),
    ("Mozilla/5.0 (compatible; theoldreader.com; 12 subscribers;"
     " feed-id=2c6ff0cc8ab3d2bd7e9dfc1d)", Fetcher("The Old Reader", 12,
                                                  "2c6ff0cc8ab3d2bd7e9dfc1d")),
    ("Feedbin feed-id:1373711 - 4 subscribers", Fetcher("Feedbin", 4, "1373711")),
    ("FeedFetcher-Google; (+http://www.google.com/feedfetcher.html)", Fetcher("Google")),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     Fetcher("Google")),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1;"
     " +http://www.google.com/bot.html) Chrome/131.0.6778.139 Safari/537.36", Fetcher("Google")),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", Fetcher("Yandex")),
    ("Mozilla/5.0 (compatible; YandexNews/4.0; +http://yandex.com/bots)", Fetcher("Yandex")),
    ("Mozilla/5.0 (compatible; Feedspot/1.0 (+https://www.feedspot.com/fs/fetcher;"
     " like FeedFetcher-Google)", Fetcher("Feedspot")),
    ("Miniflux/2.2.3 (https://miniflux.app)", Fetcher("Miniflux")),
    ("newsboat/2.36.0 (Linux x86_64)", Fetcher("Newsboat")),
    ("SomeReader/3.1 (+https://reader.example; 9 subscribers)", Fetcher("SomeReader", 9)),
    (BROWSER, Fetcher("other")),
    ("", Fetcher("other")),
]


@pytest.mark.parametrize("agent,expected", REAL_AGENTS)
def test_real_user_agents(agent: str, expected: Fetcher) -> None:
    assert identify(agent) == expected


# A scripted day: (User-Agent, client address, conditional?) per poll, in order.
MIX = [
    ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; )", "1.1.1.1", False),
    ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 20 subscribers; )", "1.1.1.2", True),
    ("Feedbin feed-id:11 - 3 subscribers", "2.2.2.2", False),
    ("Feedbin feed-id:12 - 4 subscribers", "2.2.2.2", True),
    ("Feedbin feed-id:11 - 5 subscribers", "2.2.2.3", True),  # id 11's latest: 5
    ("Mozilla/5.0 (compatible; inoreader.com; 42 subscribers)", "3.3.3.3", True),
    ("NewsBlur Feed Fetcher - 7 subscribers - https://www.newsblur.com/site/99/belta"
     " (Mozilla/5.0)", "4.4.4.4", False),
    ("Mozilla/5.0 (compatible; theoldreader.com; 2 subscribers; feed-id=abc)", "5.5.5.5", True),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "6.6.6.1",
     False),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "6.6.6.2",
     True),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "6.6.6.1",
     True),
    ("Mozilla/5.0 (compatible; YandexNews/4.0; +http://yandex.com/bots)", "7.7.7.7", True),
    (BROWSER, "8.8.8.8", False),
]
EXPECTED = {  # fetcher: (subscribers, reported, polls, 304s)
    "Inoreader": (42, True, 1, 1), "Feedly": (20, True, 2, 1), "Feedbin": (9, True, 3, 2),
    "NewsBlur": (7, True, 1, 0), "The Old Reader": (2, True, 1, 1), "Google": (2, False, 3, 2),
    "Yandex": (1, False, 1, 1), "other": (2, False, 2, 0),  # the browser and the warm-up
}


def check(counts: Counts, feed: str) -> None:
    day = today().isoformat()
    rows = {row.fetcher: row for row in counts.rows(day, day) if row.feed == feed}
    assert {name: (r.subscribers, r.reported, round(r.polls_per_day), round(
        r.not_modified_share * r.polls_per_day)) for name, r in rows.items()} == EXPECTED
    assert sum(counts.totals_by_day(day, day)[feed].values()) == 85


def play(client: FlaskClient, path: str) -> None:
    etag = client.get(path, headers={"User-Agent": "warm-up"}).headers["ETag"]
    for agent, address, conditional in MIX:
        headers = {"User-Agent": agent, **({"If-None-Match": etag} if conditional else {})}
        response = client.get(path, headers=headers, environ_base={"REMOTE_ADDR": address})
        assert response.status_code == (304 if conditional else 200)


@pytest.fixture
def stats_app(tmp_path: Path) -> Flask:
    return make_app(tiny_store(tmp_path / "store"), tmp_path / "cache", admin_token=TOKEN)


def test_live_counts_match_the_scripted_mix(stats_app: Flask) -> None:
    client = stats_app.test_client()
    play(client, "/feeds/sport.rss")  # the fast lane answers most of these
    client.get("/feeds/sport/archive/1.rss", headers={"User-Agent": MIX[0][0]})  # not polled
    stats_app.extensions["feeds_drain"].drain()
    counts = stats_app.extensions["feeds_subscribers"]
    check(counts, "/feeds/sport.rss")
    assert {row.feed for row in counts.rows("2000-01-01", "2999-01-01")} == {"/feeds/sport.rss"}


def test_stats_page_is_private_and_draws_a_chart(stats_app: Flask) -> None:
    client = stats_app.test_client()
    play(client, "/feeds/nauka.atom")
    assert client.get("/stats").status_code == 401
    basic = base64.b64encode(f"newsroom:{TOKEN}".encode()).decode()
    page = client.get("/stats", headers={"Authorization": f"Basic {basic}"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.text
    assert "/feeds/nauka.atom — 85" in html and "<svg" in html and "<script" not in html
    assert "<td>Feedbin</td><td>9</td>" in html


def test_counts_from_access_logs(stats_app: Flask, tmp_path: Path) -> None:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
    lines = [f'9.9.9.9 - - [{stamp}] "GET /feeds/sport.rss HTTP/1.1" 200 512 "-" "warm-up"']
    for agent, address, conditional in MIX:
        status = 304 if conditional else 200
        lines.append(f'{address} - - [{stamp}] "GET /feeds/sport.rss HTTP/1.1" {status} 0'
                     f' "-" "{agent}"')
    lines += ["garbage line", f'1.1.1.1 - - [{stamp}] "GET /sport/ HTTP/1.1" 200 1 "-" "x"']
    log = tmp_path / "access.log"
    log.write_text("\n".join(lines) + "\n")
    counts = Counts(":memory:")
    counts.add(poll for poll in map(parse_log_line, lines) if poll is not None)
    check(counts, "/feeds/sport.rss")
    result = stats_app.test_cli_runner().invoke(args=["stats", str(log)])
    assert result.exit_code == 0, result.output
    feedbin = next(line for line in result.output.splitlines() if "Feedbin" in line)
    assert feedbin.split()[-3:] == ["9", "3.0", "67%"]


def test_log_lines_of_gunicorn_and_nginx() -> None:
    gunicorn = ('127.0.0.1 - - [27/Nov/2026:12:00:01 +0000] "GET /feeds/all.rss HTTP/1.1" 304 0'
                ' "-" "Feedbin feed-id:1373711 - 4 subscribers"')
    nginx = ('203.0.113.9 - - [27/Nov/2026:15:00:01 +0300] "GET /feeds/dzen.rss?x=1 HTTP/2.0"'
             ' 200 5123 "https://ref.example/" "Mozilla/5.0 (compatible; YandexBot/3.0;'
             ' +http://yandex.com/bots)"')
    first, second = parse_log_line(gunicorn), parse_log_line(nginx)
    assert first == Poll(first.moment, "/feeds/all.rss", 304,  # type: ignore[union-attr]
                         "Feedbin feed-id:1373711 - 4 subscribers", "127.0.0.1")
    assert second is not None and second.feed == "/feeds/dzen.rss" and second.status == 200
    assert first.moment == second.moment  # type: ignore[union-attr]
    assert parse_log_line(gunicorn.replace("/feeds/all.rss", "/feeds/all/archive/1.rss")) is None


def test_clients_behind_a_local_proxy() -> None:
    from feeds.metrics import seen

    direct = seen((True, "/feeds/all.rss", 200, "ua", "203.0.113.5", "198.51.100.1"))
    assert direct.client == "203.0.113.5"  # a client cannot pick its own address
    proxied = seen((False, "/feeds/all.rss", 304, None, "127.0.0.1", "10.0.0.1, 198.51.100.7"))
    assert proxied.client == "198.51.100.7" and proxied.user_agent == ""


def test_no_statistics_file_costs_only_the_statistics(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    app = make_app(tiny_store(tmp_path / "store"), blocked, admin_token=TOKEN)
    client = app.test_client()
    assert client.get("/feeds/all.rss").status_code == 200
    assert client.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_statistics_file_made_even_before_the_index_makes_its_folder(tmp_path: Path) -> None:
    # Under a server the index makes the cache folder from the scan thread, which may run
    # after the statistics file is opened: the statistics must not depend on that order.
    cache = tmp_path / "later" / "cache"
    app = make_app(tiny_store(tmp_path / "store"), cache, admin_token=TOKEN)
    shutil.rmtree(tmp_path / "later")
    counts = live_counts(app, app.extensions["feeds_drain"])
    assert counts is not None
    assert Path(counts.path).is_file()
