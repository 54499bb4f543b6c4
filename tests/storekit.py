"""Write articles and photos into a temporary store, the way the newsroom does."""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from feeds.snapshot import Snapshot
from feeds.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
SEED_ID = "000_f7808c3b0d4d12dc"
SEED_TEXT = (FIXTURES / f"{SEED_ID}.txt").read_text(encoding="utf-8")

MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
          "сентября", "октября", "ноября", "декабря"]


def assert_same_snapshot(snapshot: Snapshot, expected: Snapshot) -> None:
    """What requests read of a snapshot: entries in order, by rubric and id, problems."""
    assert snapshot.entries == expected.entries
    assert dict(snapshot.by_slug) == dict(expected.by_slug)
    assert dict(snapshot.by_id) == dict(expected.by_id)
    assert dict(snapshot.rubrics) == dict(expected.rubrics)
    assert snapshot.problems == expected.problems
    assert snapshot.default_photo == expected.default_photo


def title_of(store: Store, article_id: str) -> str:
    """The title the store publishes for an article (entries leave titles in the index)."""
    return store.titles([store.snapshot.by_id[article_id]])[0]


def date_line(year: int, month: int, day: int, hour: int, minute: int) -> str:
    return f"{day} {MONTHS[month - 1]} {year}, {hour:02d}:{minute:02d}"


def article_text(rubric: str, published: str, title: str, paragraphs: list[str],
                 credit: str | None = "Фото Ивана Петрова") -> str:
    """An article in the store's page-text layout, chrome included."""
    day_month = " ".join(published.split()[:2])
    lines = ["ГОСОРГАНЫГОСОРГАНЫ", "Флаг Понедельник, 3 марта 2025",
             "Минск Ясно -2°C", "Все новости", rubric, published, "", title, ""]
    body = list(paragraphs)
    body[0] = f"{day_month}, Минск /Корр. БЕЛТА/. {body[0]}"
    body[-1] = body[-1] + "-0-"
    lines += [*body, ""]
    if credit:
        lines.append(credit)
    lines += [f"Новости рубрики {rubric}", "Топ-новости", "Свежие новости Беларуси"]
    return "\n".join(lines) + "\n"


def date_ago(days: float) -> str:
    """The store's date line for a moment this many days before now, Minsk time."""
    from datetime import datetime, timedelta

    from feeds.parse import MINSK

    moment = datetime.now(MINSK) - timedelta(days=days)
    return date_line(moment.year, moment.month, moment.day, moment.hour, moment.minute)


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 40),
                color: tuple[int, int, int] = (20, 120, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def write(root: Path, rel: str, data: str | bytes, mtime: float | None = None) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def write_article(root: Path, article_id: str, rubric: str = "Общество",
                  published: str = "3 марта 2025, 10:00", title: str = "Заголовок",
                  paragraphs: list[str] | None = None, photo: bytes | None = None,
                  photo_ext: str = "jpg", folder: str = "", credit: str | None = None) -> Path:
    """Write one article (and its photo) into the store; returns the text file's path."""
    paragraphs = paragraphs or ["Первый абзац новости.", "Второй абзац новости."]
    rel = f"{folder}/{article_id}.txt" if folder else f"{article_id}.txt"
    path = write(root, rel, article_text(rubric, published, title, paragraphs,
                                         credit or "Фото Ивана Петрова"))
    if photo is not None:
        write(root, rel[:-4] + "." + photo_ext, photo)
    return path


def appears_within(snapshot_of: Callable[[], Snapshot], article_id: str,
                   seconds: float) -> bool:
    """Poll a live store until the article is published; False if it took too long."""
    deadline = time.monotonic() + seconds
    while article_id not in snapshot_of().by_id:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def tiny_store(root: Path) -> Path:
    """Copy the committed tiny store (photos included) to root."""
    shutil.copytree(FIXTURES / "tiny", root)
    return root
