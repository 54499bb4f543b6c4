"""Settings from FEEDS_* environment variables, read once into one frozen dataclass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(ValueError):
    """A FEEDS_* variable holds a value the service cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value}: expected {low}..{high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number of seconds") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r}: expected a positive number of seconds")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    content_dir: Path = Path("content")
    base_url: str | None = None  # public origin; None means the request's own
    site_title: str = "БЕЛТА"
    limit: int = 50
    article_url: str | None = None  # e.g. https://www.belta.by/{slug}/view/{id}/
    max_age: int = 120
    cache_dir: Path | None = None  # None: the Flask instance folder
    websub_hubs: tuple[str, ...] = field(default_factory=tuple)
    archive_page_size: int = 100
    max_article_bytes: int = 1 << 20
    refresh_interval: float = 1.0  # seconds between store scans

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every FEEDS_* variable; unset ones keep their defaults."""
        env = os.environ if env is None else env
        base_url = env.get("FEEDS_BASE_URL", "").strip().rstrip("/") or None
        if base_url and not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"FEEDS_BASE_URL={base_url!r}: expected http:// or https://")
        article_url = env.get("FEEDS_ARTICLE_URL", "").strip() or None
        if article_url and "{id}" not in article_url:
            raise ConfigError("FEEDS_ARTICLE_URL must contain {id}")
        cache_dir = env.get("FEEDS_CACHE_DIR", "").strip()
        hubs = tuple(
            hub.strip() for hub in env.get("FEEDS_WEBSUB_HUBS", "").split(",") if hub.strip()
        )
        return cls(
            content_dir=Path(env.get("FEEDS_CONTENT_DIR", "").strip() or "content"),
            base_url=base_url,
            site_title=env.get("FEEDS_SITE_TITLE", "").strip() or "БЕЛТА",
            limit=_int(env, "FEEDS_LIMIT", 50, 1, 500),
            article_url=article_url,
            max_age=_int(env, "FEEDS_MAX_AGE", 120, 0, 31_536_000),
            cache_dir=Path(cache_dir) if cache_dir else None,
            websub_hubs=hubs,
            archive_page_size=_int(env, "FEEDS_ARCHIVE_PAGE_SIZE", 100, 10, 1000),
            refresh_interval=_float(env, "FEEDS_REFRESH_INTERVAL", 1.0),
        )
