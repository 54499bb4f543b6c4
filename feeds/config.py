"""Settings from FEEDS_* environment variables, read once into one frozen dataclass.

Every value is checked here, at start, so a typo stops the service with one
line that names the variable, instead of a traceback or a silently empty feed.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

LOG_FORMATS = ("text", "json")
# Every FEEDS_* variable the service reads; any other FEEDS_* name is a typo.
KNOWN = (
    "FEEDS_CONTENT_DIR", "FEEDS_BASE_URL", "FEEDS_SITE_TITLE", "FEEDS_LIMIT",
    "FEEDS_ARTICLE_URL", "FEEDS_MAX_AGE", "FEEDS_CACHE_DIR", "FEEDS_WEBSUB_HUBS",
    "FEEDS_ARCHIVE_PAGE_SIZE", "FEEDS_REFRESH_INTERVAL", "FEEDS_LOG_FORMAT",
    "FEEDS_ADMIN_TOKEN", "FEEDS_SETTLE_TIME",
)


class ConfigError(ValueError):
    """A FEEDS_* variable holds a value the service cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name}={raw}: expected an integer {low}..{high}")
    return int(raw)


def _float(env: Mapping[str, str], name: str, default: float,
           allow_zero: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        least = "0 or more" if allow_zero else "a positive number of"
        raise ConfigError(f"{name}={raw}: expected {least} seconds")
    return value


def _url(name: str, value: str) -> str:
    """An absolute http(s) URL with a host, no query or fragment: links are built on it."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment:
        raise ConfigError(f"{name}={value}: expected an http:// or https:// URL")
    return value


def _article_url(value: str) -> str:
    try:
        filled = value.format(id="0", slug="society")
    except (KeyError, IndexError, ValueError):
        filled = ""
    if "{id}" not in value or not filled:
        raise ConfigError(f"FEEDS_ARTICLE_URL={value}: expected a URL template with {{id}}"
                          " (and optionally {slug})")
    _url("FEEDS_ARTICLE_URL", filled)
    return value


def unknown_settings(env: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each FEEDS_* name the service does not know, with the likely one."""
    env = os.environ if env is None else env
    warnings = []
    for name in sorted(n for n in env if n.startswith("FEEDS_") and n not in KNOWN):
        close = difflib.get_close_matches(name[6:], [k[6:] for k in KNOWN], n=1, cutoff=0.6)
        hint = f"; did you mean FEEDS_{close[0]}?" if close else ""
        warnings.append(f"{name} is not a setting and is ignored{hint}")
    return warnings


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
    log_format: str = "text"  # or "json": one object per line
    settle_time: float = 1.0  # seconds a new or changed file must stay unchanged
    # The secret for /metrics and /stats; None keeps those pages off (404).
    admin_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every FEEDS_* variable; unset ones keep their defaults."""
        env = os.environ if env is None else env
        base_url = env.get("FEEDS_BASE_URL", "").strip().rstrip("/") or None
        if base_url:
            _url("FEEDS_BASE_URL", base_url)
        article_url = env.get("FEEDS_ARTICLE_URL", "").strip() or None
        if article_url:
            _article_url(article_url)
        cache_dir = env.get("FEEDS_CACHE_DIR", "").strip()
        hubs = tuple(
            _url("FEEDS_WEBSUB_HUBS", hub.strip())
            for hub in env.get("FEEDS_WEBSUB_HUBS", "").split(",") if hub.strip()
        )
        log_format = env.get("FEEDS_LOG_FORMAT", "").strip().lower() or "text"
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"FEEDS_LOG_FORMAT={log_format}: expected text or json")
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
            log_format=log_format,
            settle_time=_float(env, "FEEDS_SETTLE_TIME", 1.0, allow_zero=True),
            admin_token=env.get("FEEDS_ADMIN_TOKEN", "").strip() or None,
        )
