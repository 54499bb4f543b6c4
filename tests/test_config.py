"""Settings fail early and readably; typos in names are warned about."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feeds.config import KNOWN, ConfigError, Settings, unknown_settings


@pytest.mark.parametrize(("name", "value", "message"), [
    ("FEEDS_LIMIT", "abc", "FEEDS_LIMIT=abc: expected an integer 1..500"),
    ("FEEDS_LIMIT", "0", "FEEDS_LIMIT=0: expected an integer 1..500"),
    ("FEEDS_LIMIT", "-5", "FEEDS_LIMIT=-5: expected an integer 1..500"),
    ("FEEDS_LIMIT", "١٢", "FEEDS_LIMIT=١٢: expected an integer 1..500"),
    ("FEEDS_MAX_AGE", "2m", "FEEDS_MAX_AGE=2m: expected an integer 0..31536000"),
    ("FEEDS_ARCHIVE_PAGE_SIZE", "5", "FEEDS_ARCHIVE_PAGE_SIZE=5: expected an integer 10..1000"),
    ("FEEDS_REFRESH_INTERVAL", "nan", "FEEDS_REFRESH_INTERVAL=nan: expected a positive number"),
    ("FEEDS_REFRESH_INTERVAL", "0", "FEEDS_REFRESH_INTERVAL=0: expected a positive number"),
    ("FEEDS_REFRESH_INTERVAL", "1s", "FEEDS_REFRESH_INTERVAL=1s: expected a positive number"),
    ("FEEDS_BASE_URL", "feeds.belta.by", "FEEDS_BASE_URL=feeds.belta.by: expected an http"),
    ("FEEDS_BASE_URL", "https://", "FEEDS_BASE_URL=https:: expected an http"),
    ("FEEDS_BASE_URL", "https://x.by/?a=1", "FEEDS_BASE_URL=https://x.by/?a=1: expected"),
    ("FEEDS_ARTICLE_URL", "https://belta.by/view/", "FEEDS_ARTICLE_URL=https://belta.by/view/:"
                                                    " expected a URL template with {id}"),
    ("FEEDS_ARTICLE_URL", "https://belta.by/{rubric}/{id}",
     "FEEDS_ARTICLE_URL=https://belta.by/{rubric}/{id}: expected a URL template"),
    ("FEEDS_ARTICLE_URL", "/view/{id}", "FEEDS_ARTICLE_URL=/view/0: expected an http"),
    ("FEEDS_WEBSUB_HUBS", "https://hub.example,ftp://x", "FEEDS_WEBSUB_HUBS=ftp://x: expected"),
    ("FEEDS_WEBSUB_HUBS", "pubsubhubbub.appspot.com", "FEEDS_WEBSUB_HUBS=pubsubhubbub.appspot"),
    ("FEEDS_LOG_FORMAT", "xml", "FEEDS_LOG_FORMAT=xml: expected text or json"),
    ("FEEDS_SETTLE_TIME", "-1", "FEEDS_SETTLE_TIME=-1: expected 0 or more seconds"),
])
def test_a_bad_value_is_one_line_naming_the_variable(name: str, value: str,
                                                     message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_good_values_are_read() -> None:
    settings = Settings.from_env({
        "FEEDS_LIMIT": " 20 ", "FEEDS_BASE_URL": "https://belta.by/feeds/",
        "FEEDS_WEBSUB_HUBS": "https://hub.one/, http://hub.two",
        "FEEDS_ARTICLE_URL": "https://belta.by/{slug}/view/{id}/", "FEEDS_LOG_FORMAT": "json",
        "FEEDS_REFRESH_INTERVAL": "0.25"})
    assert settings.limit == 20 and settings.base_url == "https://belta.by/feeds"
    assert settings.websub_hubs == ("https://hub.one/", "http://hub.two")
    assert settings.log_format == "json" and settings.refresh_interval == 0.25


def test_an_unknown_name_is_warned_about_with_the_closest_setting() -> None:
    env = {"FEEDS_LIMT": "10", "FEEDS_BASEURL": "x", "FEEDS_WHATEVER": "1", "HOME": "/"}
    assert unknown_settings(env) == [
        "FEEDS_BASEURL is not a setting and is ignored; did you mean FEEDS_BASE_URL?",
        "FEEDS_LIMT is not a setting and is ignored; did you mean FEEDS_LIMIT?",
        "FEEDS_WHATEVER is not a setting and is ignored",
    ]
    assert unknown_settings(dict.fromkeys(KNOWN, "")) == []


def test_every_setting_read_is_known() -> None:
    code = (Path(__file__).parent.parent / "feeds" / "config.py").read_text(encoding="utf-8")
    assert set(re.findall(r'"(FEEDS_[A-Z_]+)"', code)) == set(KNOWN)
