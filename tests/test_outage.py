"""Real processes: refused starts, a store lost under gunicorn, files only root may read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serverkit import ROOT, Server, free_port, running_server
from tests.storekit import write, write_article

BIN = Path(sys.executable).parent


def run(args: list[str], env: dict[str, str], cwd: Path = ROOT,
        timeout: float = 30) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FEEDS_")}
    return subprocess.run(args, env={**clean, **env}, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def one_line_refusal(result: subprocess.CompletedProcess[str], reason: str) -> None:
    """Non-zero, no traceback, and exactly one line from us naming the reason."""
    ours = [line for line in result.stderr.splitlines() if line.startswith("feeds: ")]
    assert result.returncode == 4, result.stderr
    assert len(ours) == 1 and reason in ours[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder every user may enter (pytest's own is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="feeds-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("root", ["missing", "file", "relative"])
def test_commands_and_servers_refuse_an_unusable_store(tmp_path: Path, root: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "file").write_text("not a folder")
    # TMPDIR: the refusing workers' claim file (see feeds/startup.py) stays in tmp_path.
    env = {"FEEDS_CACHE_DIR": str(tmp_path / "cache"), "FEEDS_BASE_URL": "https://x.by",
           "TMPDIR": str(tmp_path)}
    if root == "relative":  # the default `content`, from a folder that has none
        reason = f"store content ({elsewhere}/content): no such folder"
    else:
        env["FEEDS_CONTENT_DIR"] = str(tmp_path / root)
        reason = "no such folder" if root == "missing" else "not a folder"
    app = str(ROOT / "app.py")
    out = tmp_path / "out"
    for command in (["check"], ["build", str(out)], ["run", "--port", str(free_port())]):
        result = run([str(BIN / "flask"), "--app", app, *command], env, cwd=elsewhere)
        one_line_refusal(result, reason)
    assert not out.exists()
    gunicorn = [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{free_port()}"]
    # Without gunicorn.conf.py (started from elsewhere) the workers refuse...
    one_line_refusal(run([*gunicorn, "--pythonpath", str(ROOT), "app:app"], env,
                         cwd=elsewhere), reason)
    assert len(list(tmp_path.glob("feeds-refused-*"))) == 1
    # ...with it, the master refuses before any worker starts.
    if root != "relative":
        result = run([*gunicorn, "app:app"], env)
        one_line_refusal(result, reason)
        assert "Booting worker" not in result.stderr


def test_a_bad_setting_stops_flask_and_gunicorn_in_one_line(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_article(store, "a")
    env = {"FEEDS_CONTENT_DIR": str(store), "FEEDS_CACHE_DIR": str(tmp_path / "cache"),
           "FEEDS_LIMIT": "abc"}
    message = "FEEDS_LIMIT=abc: expected an integer 1..500"
    one_line_refusal(run([str(BIN / "flask"), "--app", "app", "check"], env), message)
    one_line_refusal(run([str(BIN / "gunicorn"), "-b", f"127.0.0.1:{free_port()}", "app:app"],
                         env), message)


def test_typos_are_warned_about_and_logs_can_be_json(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_article(store, "a")
    write(store, "bad.txt", "мусор")
    env = {"FEEDS_CONTENT_DIR": str(store), "FEEDS_CACHE_DIR": str(tmp_path / "cache"),
           "FEEDS_LIMT": "10"}
    result = run([str(BIN / "flask"), "--app", "app", "check"], env)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    warning = [line for line in lines if "FEEDS_LIMT" in line]
    assert len(warning) == 1 and warning[0].endswith(
        " WARNING feeds.web: FEEDS_LIMT is not a setting and is ignored;"
        " did you mean FEEDS_LIMIT?")
    assert warning[0][:4].isdigit()  # the line starts with its time
    result = run([str(BIN / "flask"), "--app", "app", "check"],
                 {**env, "FEEDS_LOG_FORMAT": "json", "FEEDS_CACHE_DIR": str(tmp_path / "c2")})
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert {(r["level"], r["logger"]) for r in records} == {("WARNING", "feeds.web"),
                                                            ("WARNING", "feeds.store")}
    assert [r["message"] for r in records if r["logger"] == "feeds.store"] == [
        f"{store}/bad.txt: no date line \"D месяца YYYY, HH:MM\" found"]
    assert all(r["time"].endswith("+00:00") for r in records)


def unprivileged(command: list[str]) -> list[str]:
    """Run as nobody when we are root: root reads a mode-000 file as if nothing happened."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]


def test_unreadable_files_are_listed_by_check_and_logged_once(shared_tmp: Path) -> None:
    store, cache = shared_tmp / "store", shared_tmp / "cache"
    write_article(store, "good")
    locked = write_article(store, "locked", title="Под замком")
    locked.chmod(0o000)
    os.mkfifo(store / "x.txt")
    cache.mkdir()
    cache.chmod(0o777)
    env = {"FEEDS_CONTENT_DIR": str(store), "FEEDS_CACHE_DIR": str(cache)}
    check = unprivileged([str(BIN / "flask"), "--app", str(ROOT / "app.py"), "check"])
    started = time.monotonic()
    result = run(check, env, timeout=20)
    assert time.monotonic() - started < 15  # the FIFO never blocked the scan
    assert result.returncode == 1
    assert result.stdout.splitlines()[:2] == [
        f"{store}/locked.txt: cannot read: Permission denied",
        f"{store}/x.txt: cannot read: it is a named pipe, not a regular file",
    ]
    assert result.stdout.endswith("1 articles, 1 rubrics, 2 problems (2 articles rejected)\n")
    for name in ("locked.txt", "x.txt"):
        assert sum(f"{store}/{name}: cannot read" in line
                   for line in result.stderr.splitlines()) == 1, result.stderr
    locked.chmod(0o644)  # the same size and mtime: only a retry can see it now
    result = run(check, env, timeout=20)
    assert result.stdout.endswith("2 articles, 1 rubrics, 1 problems (1 articles rejected)\n")


def test_a_store_lost_under_gunicorn_keeps_every_feed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for n in range(3):
        write_article(store, f"a{n}", title=f"Новость {n}",
                      published=f"{n + 1} марта 2025, 10:00")
    feeds = ("/feeds/all.rss", "/feeds/society.atom", "/feeds/all.json", "/")
    statuses: list[int] = []

    def get(server: Server, path: str) -> tuple[int, str, bytes]:
        reply = server.get(path)
        statuses.append(reply.status)
        return reply.status, reply.headers.get("etag", ""), reply.body

    def healthz_settles(server: Server, code: int) -> None:
        """Each worker scans on its own: wait until answers in a row all agree."""
        deadline, streak = time.monotonic() + 10, 0
        while streak < 6:
            assert time.monotonic() < deadline, f"/healthz never settled on {code}"
            streak = streak + 1 if get(server, "/healthz")[0] == code else 0
            time.sleep(0.05)

    def same_feeds(server: Server, before: dict[str, tuple[int, str, bytes]]) -> None:
        for path in feeds:
            assert get(server, path) == before[path], path

    with running_server(store, tmp_path / "cache", FEEDS_SETTLE_TIME="0",
                        FEEDS_LIMT="10") as server:
        before = {path: get(server, path) for path in feeds}
        assert all(status == 200 for status, _, _ in before.values())
        assert before["/feeds/all.rss"][2].count(b"<item>") == 3
        healthz_settles(server, 200)
        store.rename(tmp_path / "away")
        healthz_settles(server, 503)
        body = json.loads(server.get("/healthz").body)
        assert body["status"] == "unavailable" and body["articles"] == 3
        same_feeds(server, before)
        store.mkdir()  # an empty mount point
        time.sleep(1.2)
        assert json.loads(server.get("/healthz").body)["status"] == "empty"
        same_feeds(server, before)
        store.rmdir()
        (tmp_path / "away").rename(store)
        healthz_settles(server, 200)
        same_feeds(server, before)
        process = server.process
    assert set(statuses) == {200, 503}  # 503 from /healthz alone: the feeds never changed
    log = process.stderr.read().decode() if process.stderr else ""
    errors = [line for line in log.splitlines() if " ERROR feeds.store: " in line]
    back = [line for line in log.splitlines() if " INFO feeds.store: " in line]
    assert len(errors) == 1 and f"store {store}: no such folder" in errors[0], log
    typos = [line for line in log.splitlines() if "FEEDS_LIMT" in line]
    assert len(typos) == 1 and " WARNING feeds.web: " in typos[0], log  # the master's alone
    assert " INFO gunicorn.error: Booting worker" in log  # gunicorn's lines in our format
    assert len(back) == 1 and back[0].endswith(f"store {store} is back: 3 article files;"
                                               " publishing again"), log
