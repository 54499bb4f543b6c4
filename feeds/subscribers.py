"""Who subscribes: feed fetchers' User-Agents, counted per feed and day in SQLite.

Aggregators that poll once for many readers say how many in their User-Agent
(each documents its own form); a few also name their own id for the feed, and
one feed URL can have several ids at one aggregator (they are summed, each at
the latest figure it reported that day). Fetchers that say nothing (crawlers,
desktop and self-hosted readers) are counted as distinct pollers per day: one
per client address and User-Agent.

The same counting serves the live service (each worker's metrics drain hands
its batch over, once a second, off the request path) and
`flask --app app stats ACCESS_LOG...` (combined log lines of gunicorn or nginx).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from html import escape
from pathlib import Path

from .parse import MINSK

POLLERS_KEPT_DAYS = 35  # distinct pollers are kept per day this long; the counts stay


@dataclass(frozen=True, slots=True)
class Fetcher:
    """What a User-Agent says: the aggregator, and maybe a reader count and its feed id."""

    name: str
    subscribers: int | None = None  # None: the fetcher does not say
    feed_id: str = ""


# (name, pattern that identifies it, pattern of its feed id) — most specific first.
_REPORTING: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...] = (
    # "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; )"
    ("Feedly", re.compile(r"\bFeedly/", re.I), None),
    # "Mozilla/5.0 (compatible; inoreader.com; 42 subscribers)"
    ("Inoreader", re.compile(r"inoreader\.com|Inoreader/", re.I), None),
    # "NewsBlur Feed Fetcher - 5 subscribers - http://www.newsblur.com/site/6129823/title (...)"
    ("NewsBlur", re.compile(r"^NewsBlur (Feed|Page) Fetcher", re.I),
     re.compile(r"newsblur\.com/site/(\d+)")),
    # "Mozilla/5.0 (compatible; theoldreader.com; 3 subscribers; feed-id=2c6ff0cc8ab3d2bd7e9dfc1d)"
    ("The Old Reader", re.compile(r"theoldreader\.com", re.I),
     re.compile(r"feed-id=([0-9A-Za-z]+)")),
    # "Feedbin feed-id:1373711 - 4 subscribers"
    ("Feedbin", re.compile(r"^Feedbin\b", re.I), re.compile(r"feed-id:(\d+)")),
    # "Mozilla/5.0 (compatible; Feedspot/1.0 (+https://www.feedspot.com/fs/fetcher; like ...)"
    ("Feedspot", re.compile(r"Feedspot", re.I), None),
    # "Feeder.co (+https://feeder.co/fetcher; 7 subscribers)"
    ("Feeder", re.compile(r"^Feeder\.co\b|feeder\.co/", re.I), None),
    # "FeedFetcher-Google; (+http://www.google.com/feedfetcher.html; 3 subscribers; feed-id=...)"
    ("Google", re.compile(r"Feedfetcher-Google|Googlebot|Google-|APIs-Google|"
                          r"GoogleOther|Mediapartners-Google|AdsBot-Google", re.I),
     re.compile(r"feed-id=(\d+)")),
    # "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "YandexNews/4.0"
    ("Yandex", re.compile(r"Yandex[A-Za-z]*/", re.I), None),
    ("Bing", re.compile(r"bingbot|BingPreview", re.I), None),
    ("Miniflux", re.compile(r"Miniflux", re.I), None),
    ("FreshRSS", re.compile(r"FreshRSS", re.I), None),
    ("Tiny Tiny RSS", re.compile(r"Tiny Tiny RSS", re.I), None),
    ("NetNewsWire", re.compile(r"NetNewsWire", re.I), None),
    ("Newsboat", re.compile(r"newsboat|newsbeuter", re.I), None),
)
_SUBSCRIBERS = re.compile(r"(\d+)\s+(?:subscribers?|readers?)\b", re.I)


@lru_cache(maxsize=4096)
def identify(user_agent: str) -> Fetcher:
    """The fetcher behind a User-Agent; anything unknown is "other".

    Cached: a feed's pollers send the same few strings all day."""
    for name, pattern, id_pattern in _REPORTING:
        if pattern.search(user_agent):
            count = _SUBSCRIBERS.search(user_agent)
            feed_id = id_pattern.search(user_agent) if id_pattern else None
            return Fetcher(name, int(count.group(1)) if count else None,
                           feed_id.group(1) if feed_id else "")
    count = _SUBSCRIBERS.search(user_agent)  # an aggregator we do not know by name
    if count:
        product = user_agent.split("/")[0].split("(")[0].strip()[:40] or "other"
        return Fetcher(product, int(count.group(1)))
    return Fetcher("other")


@dataclass(frozen=True, slots=True)
class Poll:
    """One answered request for a feed."""

    moment: float  # Unix time
    feed: str  # URL path
    status: int
    user_agent: str
    client: str
    count: int = 1  # the same request this many times (the drain groups repeats)


def is_feed(path: str) -> bool:
    """Subscription documents only: feeds and flavours, not archives, photos or pages."""
    return path.startswith("/feeds/") and "/archive/" not in path


# -- combined log lines ------------------------------------------------------------------

_COMBINED = re.compile(
    r'^(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<target>\S+)'
    r'(?: [^"]*)?" (?P<status>\d{3}) \S+ "(?:[^"\\]|\\.)*" "(?P<agent>(?:[^"\\]|\\.)*)"')


def parse_log_line(line: str) -> Poll | None:
    """A Poll from one combined-format line (gunicorn's and nginx's default), else None."""
    match = _COMBINED.match(line)
    if match is None:
        return None
    try:
        moment = datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z").timestamp()
    except ValueError:
        return None
    path = match["target"].split("?")[0]
    if not is_feed(path):
        return None
    agent = match["agent"].replace('\\"', '"')
    return Poll(moment, path, int(match["status"]), "" if agent == "-" else agent,
                match["client"])


# -- the counts ----------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS polls (
    day TEXT, feed TEXT, fetcher TEXT, polls INTEGER, not_modified INTEGER,
    PRIMARY KEY (day, feed, fetcher));
CREATE TABLE IF NOT EXISTS reports (
    day TEXT, feed TEXT, fetcher TEXT, feed_id TEXT, subscribers INTEGER, seen REAL,
    PRIMARY KEY (day, feed, fetcher, feed_id));
CREATE TABLE IF NOT EXISTS pollers (
    day TEXT, feed TEXT, fetcher TEXT, poller TEXT,
    PRIMARY KEY (day, feed, fetcher, poller));
"""


def minsk_day(moment: float) -> str:
    return datetime.fromtimestamp(moment, MINSK).date().isoformat()


def today() -> date:
    """Days are Minsk days, as the newsroom counts them."""
    return datetime.now(MINSK).date()


@dataclass(frozen=True, slots=True)
class Row:
    """One feed and fetcher over the days asked for."""

    feed: str
    fetcher: str
    subscribers: int  # reported (latest day with a report), else distinct pollers a day
    reported: bool
    polls_per_day: float
    not_modified_share: float


class Counts:
    """The statistics file: a few rows per feed, fetcher and day; shared by all workers."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10)
            if self.path != ":memory:":
                db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    def add(self, polls: Iterable[Poll]) -> None:
        """Count a batch in one transaction (a worker's second, or a log file)."""
        counts: dict[tuple[str, str, str], list[int]] = {}
        reports: dict[tuple[str, str, str, str], tuple[int, float]] = {}
        pollers: set[tuple[str, str, str, str]] = set()
        for poll in polls:
            fetcher = identify(poll.user_agent)
            day = minsk_day(poll.moment)
            tally = counts.setdefault((day, poll.feed, fetcher.name), [0, 0])
            tally[0] += poll.count
            tally[1] += poll.count if poll.status == 304 else 0
            if fetcher.subscribers is not None:
                key = (day, poll.feed, fetcher.name, fetcher.feed_id)
                if key not in reports or reports[key][1] <= poll.moment:
                    reports[key] = (fetcher.subscribers, poll.moment)
            else:
                poller = hashlib.blake2b(f"{poll.client}\x00{poll.user_agent}".encode(),
                                         digest_size=8).hexdigest()
                pollers.add((day, poll.feed, fetcher.name, poller))
        if not counts:
            return
        with self._connect() as db:
            db.executemany(
                "INSERT INTO polls VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                " polls = polls + excluded.polls,"
                " not_modified = not_modified + excluded.not_modified",
                [(*key, n, nm) for key, (n, nm) in counts.items()])
            db.executemany(
                "INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                " subscribers = excluded.subscribers, seen = excluded.seen"
                " WHERE excluded.seen >= reports.seen",
                [(*key, n, seen) for key, (n, seen) in reports.items()])
            db.executemany("INSERT OR IGNORE INTO pollers VALUES (?, ?, ?, ?)", pollers)

    def prune(self, today: date) -> None:
        """Distinct pollers are needed only while their day may still be asked about."""
        oldest = (today - timedelta(days=POLLERS_KEPT_DAYS)).isoformat()
        with self._connect() as db:
            db.execute("DELETE FROM pollers WHERE day < ?", (oldest,))

    def days(self) -> list[str]:
        return [day for (day,) in self._connect().execute(
            "SELECT DISTINCT day FROM polls ORDER BY day")]

    def subscribers_by_day(self, first: str, last: str) -> dict[tuple[str, str, str],
                                                                 tuple[int, bool]]:
        """(day, feed, fetcher) -> (subscribers, reported): the fetcher's own figure
        (its feed ids summed) when it gave one that day, else its distinct pollers."""
        db = self._connect()
        found: dict[tuple[str, str, str], tuple[int, bool]] = {
            (day, feed, fetcher): (count, False) for day, feed, fetcher, count in db.execute(
                "SELECT day, feed, fetcher, COUNT(*) FROM pollers"
                " WHERE day BETWEEN ? AND ? GROUP BY day, feed, fetcher", (first, last))}
        for day, feed, fetcher, count in db.execute(
                "SELECT day, feed, fetcher, SUM(subscribers) FROM reports"
                " WHERE day BETWEEN ? AND ? GROUP BY day, feed, fetcher", (first, last)):
            found[(day, feed, fetcher)] = (count, True)
        return found

    def rows(self, first: str, last: str) -> list[Row]:
        """Per feed and fetcher: latest subscribers, polls per day, 304 share."""
        latest: dict[tuple[str, str], tuple[str, int, bool]] = {}
        for (day, feed, fetcher), (count, reported) in self.subscribers_by_day(first,
                                                                                last).items():
            known = latest.get((feed, fetcher))
            if known is None or day > known[0]:  # the latest day wins
                latest[(feed, fetcher)] = (day, count, reported)
        rows = []
        for feed, fetcher, polls, not_modified, days in self._connect().execute(
                "SELECT feed, fetcher, SUM(polls), SUM(not_modified), COUNT(DISTINCT day)"
                " FROM polls WHERE day BETWEEN ? AND ? GROUP BY feed, fetcher",
                (first, last)):
            _day, count, reported = latest.get((feed, fetcher), ("", 0, False))
            rows.append(Row(feed, fetcher, count, reported, polls / max(days, 1),
                            not_modified / polls if polls else 0.0))
        return sorted(rows, key=lambda r: (r.feed, -r.subscribers, r.fetcher))

    def totals_by_day(self, first: str, last: str) -> dict[str, dict[str, int]]:
        """feed -> day -> subscribers summed over fetchers (for the chart)."""
        totals: dict[str, dict[str, int]] = {}
        for (day, feed, _fetcher), (count, _) in self.subscribers_by_day(first, last).items():
            per_day = totals.setdefault(feed, {})
            per_day[day] = per_day.get(day, 0) + count
        return totals


# -- showing them --------------------------------------------------------------------------


def table(rows: Sequence[Row]) -> str:
    """A plain-text table for the terminal."""
    header = ("feed", "fetcher", "subscribers", "polls/day", "304 share")
    body = [(r.feed, r.fetcher, f"{r.subscribers}{'' if r.reported else ' pollers'}",
             f"{r.polls_per_day:.1f}", f"{r.not_modified_share:.0%}") for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(line, widths, strict=True)))
             for line in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def svg_chart(series: dict[str, int], width: int = 560, height: int = 140) -> str:
    """A small line chart of subscribers by day, as inline SVG (no script)."""
    days = sorted(series)
    if not days:
        return ""
    top = max(max(series.values()), 1)
    pad = 28
    step = (width - 2 * pad) / max(len(days) - 1, 1)

    def point(i: int, day: str) -> str:
        x = pad + i * step
        y = height - pad - (height - 2 * pad) * series[day] / top
        return f"{x:.1f},{y:.1f}"

    points = " ".join(point(i, day) for i, day in enumerate(days))
    dots = "".join(f'<circle cx="{point(i, d).split(",")[0]}" cy="{point(i, d).split(",")[1]}"'
                   f' r="2.5"><title>{escape(d)}: {series[d]}</title></circle>'
                   for i, d in enumerate(days))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
            f' width="100%" role="img" aria-label="Подписчики по дням">'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"'
            f' class="axis"/>'
            f'<text x="{pad}" y="{pad - 10}" class="label">{top}</text>'
            f'<text x="{pad}" y="{height - 8}" class="label">{escape(days[0])}</text>'
            f'<text x="{width - pad}" y="{height - 8}" class="label" text-anchor="end">'
            f'{escape(days[-1])}</text>'
            f'<polyline points="{points}" class="line"/>{dots}</svg>')
