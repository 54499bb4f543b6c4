"""The fast lane answers exactly as Flask does, and only while the store is unchanged."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.appkit import refresh
from tests.storekit import write_article

VARIANTS = [
    {}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "gzip, deflate, br"},
    {"Accept-Encoding": "identity"}, {"If-None-Match": "ETAG"}, {"If-None-Match": '"x", ETAG'},
    {"If-None-Match": "W/ETAG"}, {"If-None-Match": '"other"'}, {"If-None-Match": "*"},
    {"If-Modified-Since": "LAST"}, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
    {"If-Modified-Since": "nonsense"}, {"If-None-Match": '"other"', "If-Modified-Since": "LAST"},
    {"Accept-Encoding": "gzip", "If-None-Match": "GZETAG"},
    {"If-Match": '"other"'}, {"If-Match": "ETAG"}, {"If-Match": "*"},
    {"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, {"If-Unmodified-Since": "LAST"},
    {"If-Match": '"other"', "If-None-Match": "ETAG"}, {"Range": "bytes=0-9"},
    {"Range": "bytes=0-9", "If-Range": "ETAG"},
]


def answer(client: FlaskClient, path: str, headers: dict[str, str],
           method: str = "GET") -> tuple[int, list[tuple[str, str]], bytes]:
    response = client.open(path, method=method, headers=headers)
    assert response.headers["Date"]  # the clock's, so left out of the comparison
    return (response.status_code, sorted(h for h in response.headers.items() if h[0] != "Date"),
            response.data)


@pytest.mark.parametrize("path", ["/feeds/all.rss", "/feeds/sport.atom",
                                  "/feeds/all/archive/1.json"])
@pytest.mark.parametrize("variant", range(len(VARIANTS)))
def test_fast_lane_matches_flask(app: Flask, client: FlaskClient, path: str,
                                 variant: int) -> None:
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    values = {"ETAG": plain.headers["ETag"], "GZETAG": packed.headers["ETag"],
              "LAST": plain.headers["Last-Modified"]}
    headers = {k: v.replace("W/ETAG", "W/" + values["ETAG"]) for k, v in VARIANTS[variant].items()}
    headers = {k: values.get(v, v) for k, v in headers.items()}
    lane = app.extensions["feeds"].fastlane
    for method in ("GET", "HEAD"):
        lane.answers.clear()
        through_flask = answer(client, path, headers, method)
        remembered = len(lane.answers)
        through_lane = answer(client, path, headers, method)
        assert through_lane == through_flask
        if remembered:
            # It was answered from memory: prove it by breaking Flask's path.
            app.view_functions["feed_view"], saved = None, app.view_functions["feed_view"]
            app.view_functions["archive_view"], saved2 = None, app.view_functions["archive_view"]
            try:
                assert answer(client, path, headers, method) == through_flask
            finally:
                app.view_functions["feed_view"] = saved
                app.view_functions["archive_view"] = saved2


def test_fast_lane_forgets_on_change(app: Flask, client: FlaskClient, store_dir) -> None:
    first = client.get("/feeds/all.rss")
    assert client.get("/feeds/all.rss").data == first.data
    write_article(store_dir, "new1", "Спорт", "4 марта 2025, 12:00", "Свежее")
    refresh(app)
    assert "Свежее" in client.get("/feeds/all.rss").data.decode()


def test_queries_and_delta_requests_bypass_the_lane(app: Flask, client: FlaskClient) -> None:
    lane = app.extensions["feeds"].fastlane
    client.get("/feeds/all.rss?limit=2")
    client.get("/feeds/all.rss", headers={"A-IM": "feed"})
    client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip;q=0.5"})
    assert lane.answers == {}


@pytest.mark.parametrize("path", ["/feeds/all.rss", "/", "/feeds/nothing.rss"])
def test_the_micro_cache_is_told_to_keep_answers_to_the_end_of_this_second(
        app: Flask, client: FlaskClient, path: str) -> None:
    lane = app.extensions["feeds"].fastlane
    for _ in range(2):  # through Flask, then (for a feed) from the fast lane
        before = int(time.time())
        asked = client.get(path, headers={"X-Micro-Cache": "1"})
        assert before <= int(asked.headers["X-Accel-Expires"].lstrip("@")) <= int(time.time())
        assert "X-Accel-Expires" not in client.get(path).headers  # nobody else gets it
        revalidated = client.get(path, headers={"X-Micro-Cache": "1",
                                                "If-None-Match": asked.headers.get("ETag", "")})
        assert revalidated.headers["X-Accel-Expires"].startswith("@")
    assert path != "/feeds/all.rss" or lane.answers
