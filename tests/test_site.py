"""Pages for people and crawlers: article pages, listings, errors, robots, sitemaps."""

from __future__ import annotations

import json
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from feeds import sitemaps
from tests.appkit import BASE, make_app
from tests.storekit import SEED_ID, date_ago, image_bytes, write_article

SCHEMAS = Path(__file__).parent / "schema"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


class Head(HTMLParser):
    """Collects what crawlers read: meta, link, JSON-LD scripts and img tags."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.images: list[dict[str, str | None]] = []
        self.json_ld: list[str] = []
        self._in_ld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "meta" and a.get("property"):
            self.meta[a["property"] or ""] = a.get("content") or ""
        elif tag == "link" and a.get("rel") in ("canonical", "prev", "next"):
            self.links[a["rel"] or ""] = a.get("href") or ""
        elif tag == "img":
            self.images.append(a)
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in_ld = True
            self.json_ld.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_ld = False if tag == "script" else self._in_ld

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self.json_ld[-1] += data


def head_of(html: str) -> Head:
    parser = Head()
    parser.feed(html)
    return parser


def minutes_ago(minutes: float) -> str:
    return date_ago(minutes / 1440)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """Recent news: one with its own photo, one without, one four days old; 65 in all."""
    root = tmp_path / "store"
    write_article(root, "photo", "Спорт", minutes_ago(10), "Хоккеисты выиграли </script> в Минске",
                  ["Команда победила.", "Следующий матч."], photo=image_bytes("JPEG", (800, 500)))
    write_article(root, "plain", "Экономика", minutes_ago(60), "Экспорт вырос", ["Экспорт вырос."])
    write_article(root, "old", "Экономика", minutes_ago(4 * 1440), "Урожай собран", ["Убрано."])
    for n in range(62):
        write_article(root, f"n{n:02d}", "Общество", minutes_ago(5 * 1440 + n * 30),
                      f"Новость номер {n}", ["Текст."])
    return root


@pytest.fixture
def site_client(site: Path, tmp_path: Path) -> FlaskClient:
    return make_app(site, tmp_path / "cache").test_client()


def test_article_without_photo_shows_no_default_image(site_client: FlaskClient) -> None:
    plain = head_of(site_client.get("/articles/plain.html").text)
    assert plain.images == []
    photo = head_of(site_client.get("/articles/photo.html").text)
    [image] = photo.images
    assert image["src"] == f"{BASE}/photos/photo.jpg"
    assert image["alt"] and "Хоккеисты" not in (image["alt"] or "")
    assert (image["width"], image["height"]) == ("800", "500")


def news_article_problems(document: dict) -> list[str]:
    """schema.org NewsArticle as Google's article guide requires it, checked field by field."""
    problems = []
    if document.get("@context") != "https://schema.org" or document.get("@type") != "NewsArticle":
        problems.append("not a schema.org NewsArticle")
    headline = document.get("headline")
    if not isinstance(headline, str) or not 0 < len(headline) <= 110:
        problems.append("headline must be text of 1..110 characters")
    for key in ("datePublished", "dateModified"):
        try:
            if datetime.fromisoformat(document[key]).tzinfo is None:
                problems.append(f"{key} has no offset")
        except (KeyError, TypeError, ValueError):
            problems.append(f"{key} is not an ISO 8601 date-time")
    images = document.get("image")
    if not isinstance(images, list) or not all(str(i).startswith("http") for i in images):
        problems.append("image must be a list of absolute URLs")
    for key in ("author", "publisher"):
        for party in (document.get(key) if key == "author" else [document.get(key)]) or [None]:
            if not isinstance(party, dict) or party.get("@type") not in ("Organization", "Person") \
                    or not party.get("name"):
                problems.append(f"{key} must be an Organization or Person with a name")
    logo = (document.get("publisher") or {}).get("logo") or {}
    if logo.get("@type") != "ImageObject" or not str(logo.get("url", "")).startswith("http"):
        problems.append("publisher.logo must be an ImageObject with a URL")
    page = document.get("mainEntityOfPage") or {}
    if page.get("@type") != "WebPage" or not str(page.get("@id", "")).startswith("http"):
        problems.append("mainEntityOfPage must be a WebPage with an @id")
    return problems


def test_article_page_head_for_crawlers(site_client: FlaskClient) -> None:
    html = site_client.get("/articles/photo.html").text
    head = head_of(html)
    canonical = f"{BASE}/articles/photo.html"
    assert head.links["canonical"] == canonical
    assert head.meta["og:type"] == "article" and head.meta["og:url"] == canonical
    assert head.meta["og:title"] == "Хоккеисты выиграли </script> в Минске"
    assert head.meta["og:image"] == f"{BASE}/photos/photo.jpg"
    assert head.meta["article:section"] == "Спорт"
    [raw] = head.json_ld
    assert "</script>" not in raw  # the headline cannot end the script element
    document = json.loads(raw)
    assert news_article_problems(document) == []
    assert document["headline"] == "Хоккеисты выиграли </script> в Минске"
    assert document["mainEntityOfPage"]["@id"] == canonical
    assert news_article_problems({**document, "headline": "x" * 111}) != []  # the check bites


def test_canonical_is_the_agency_page_when_configured(site: Path, tmp_path: Path) -> None:
    app = make_app(site, tmp_path / "c2", article_url="https://www.belta.by/{slug}/view/{id}/")
    head = head_of(app.test_client().get("/articles/plain.html").text)
    assert head.links["canonical"] == "https://www.belta.by/economics/view/plain/"
    assert head.meta["og:url"] == head.links["canonical"]
    assert json.loads(head.json_ld[0])["url"] == head.links["canonical"]
    # The default image still stands for the article in link previews.
    assert head.meta["og:image"].startswith(f"{BASE}/photos/_default.")


def test_current_rubric_is_marked(site_client: FlaskClient) -> None:
    html = site_client.get("/economics/").text
    current = re.findall(r'<a href="([^"]+)" aria-current="page">([^<]+)</a>', html)
    assert current == [(f"{BASE}/economics/", "Экономика")]
    front = re.findall(r'aria-current="page">([^<]+)<', site_client.get("/").text)
    assert front == ["Все новости"]
    article = re.findall(r'aria-current="page">([^<]+)<',
                         site_client.get("/articles/photo.html").text)
    assert article == ["Спорт"]


def test_older_news_pages(site_client: FlaskClient) -> None:
    """Numbered from the oldest (65 entries: two full pages), so a new article moves none."""
    first = site_client.get("/").text
    assert f'href="{BASE}/page/2/" rel="next"' in first
    second = site_client.get("/page/2/")
    assert second.status_code == 200
    head = head_of(second.text)
    assert head.links == {"canonical": f"{BASE}/page/2/", "prev": f"{BASE}/",
                          "next": f"{BASE}/page/1/"}
    titles = re.findall(r'<li><a href="[^"]+">([^<]+)</a>', second.text)
    assert titles == [f"Новость номер {n}" for n in range(2, 32)]
    oldest = site_client.get("/page/1/")
    assert oldest.status_code == 200 and "— страница 1" in oldest.text
    assert head_of(oldest.text).links == {"canonical": f"{BASE}/page/1/",
                                          "prev": f"{BASE}/page/2/"}
    assert re.findall(r'<li><a href="[^"]+">([^<]+)</a>', oldest.text) == [
        f"Новость номер {n}" for n in range(32, 62)]
    for missing in ["/page/3/", "/page/0/", "/society/page/3/", "/nope/page/2/"]:
        assert site_client.get(missing).status_code == 404, missing
    society = site_client.get("/society/page/2/").text
    assert "Новость номер 30" in society and f'href="{BASE}/society/" rel="prev"' in society


def test_a_new_article_leaves_older_news_pages_alone(site: Path, tmp_path: Path) -> None:
    app = make_app(site, tmp_path / "c5")
    client = app.test_client()
    before = {path: client.get(path).data for path in ["/page/1/", "/page/2/"]}
    write_article(site, "fresh", "Общество", minutes_ago(1), "Свежая", ["Текст."])
    app.extensions["feeds"].store.refresh()
    assert "Свежая" in client.get("/").text
    assert {path: client.get(path).data for path in before} == before
    assert client.get("/page/3/").status_code == 404


def test_dark_mode_and_phone_headline(site_client: FlaskClient) -> None:
    html = site_client.get("/articles/photo.html").text
    assert "@media (prefers-color-scheme:dark)" in html
    assert re.search(r"h1\{font-size:clamp\([^)]*\);line-height:1\.2", html)


def test_errors_in_russian_for_people_plain_for_programs(site_client: FlaskClient) -> None:
    page = site_client.get("/articles/nope.html")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Страница не найдена" in page.text and 'href="/">На главную' in page.text
    for path in ("/feeds/nope.rss", "/photos/nope.jpg", "/sitemaps/articles-9.xml"):
        response = site_client.get(path)
        assert response.status_code == 404 and response.mimetype == "text/plain", path
    not_allowed = site_client.post("/")
    assert not_allowed.status_code == 405 and "GET" in not_allowed.headers["Allow"]
    assert "Метод не поддерживается" in not_allowed.text


def test_favicon_and_robots(site_client: FlaskClient) -> None:
    icon = site_client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"
    robots = site_client.get("/robots.txt")
    assert robots.mimetype == "text/plain"
    lines = robots.text.splitlines()
    assert f"Sitemap: {BASE}/sitemap.xml" in lines
    assert f"Sitemap: {BASE}/sitemap-news.xml" in lines
    assert "Disallow: /metrics" in lines and "User-agent: *" in lines


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(file=str(SCHEMAS / name))


def valid(xsd: str, data: bytes) -> etree._Element:
    document = etree.fromstring(data)
    checker = schema(xsd)
    assert checker.validate(document), checker.error_log
    return document


def test_sitemaps_validate_and_page(site_client: FlaskClient,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sitemaps, "URLS_PER_SITEMAP", 40)
    response = site_client.get("/sitemap.xml")
    assert response.mimetype == "application/xml"
    index = valid("siteindex.xsd", response.data)
    locs = [e.text for e in index.iter(f"{SM}loc")]
    assert locs == [f"{BASE}/sitemaps/pages.xml", f"{BASE}/sitemaps/articles-1.xml",
                    f"{BASE}/sitemaps/articles-2.xml", f"{BASE}/sitemap-news.xml"]
    seen: list[str] = []
    for loc in locs[1:3]:
        part = valid("sitemap.xsd", site_client.get(loc.removeprefix(BASE)).data)
        seen += [e.text or "" for e in part.iter(f"{SM}loc")]
    assert len(seen) == len(set(seen)) == 65
    assert seen[0] == f"{BASE}/articles/n61.html"  # page 1 holds the oldest
    assert seen[-1] == f"{BASE}/articles/photo.html"
    pages = valid("sitemap.xsd", site_client.get("/sitemaps/pages.xml").data)
    assert [e.text for e in pages.iter(f"{SM}loc")][:2] == [f"{BASE}/", f"{BASE}/society/"]
    assert site_client.get("/sitemaps/articles-3.xml").status_code == 404
    assert site_client.get("/sitemaps/articles-0.xml").status_code == 404


def test_news_sitemap_holds_the_last_two_days(site_client: FlaskClient) -> None:
    news = valid("sitemap-with-news.xsd", site_client.get("/sitemap-news.xml").data)
    assert [e.text for e in news.iter(f"{NEWS}title")] == [
        "Хоккеисты выиграли </script> в Минске", "Экспорт вырос"]
    assert {e.text for e in news.iter(f"{NEWS}language")} == {"ru"}
    assert {e.text for e in news.iter(f"{NEWS}name")} == {"БЕЛТА"}
    broken = etree.tostring(news).replace(b"<news:language>ru<", b"<news:language>Russian<")
    assert not schema("sitemap-with-news.xsd").validate(etree.fromstring(broken))


def test_sitemaps_leave_out_articles_owned_by_the_agency_site(site: Path, tmp_path: Path) -> None:
    client = make_app(site, tmp_path / "c3",
                      article_url="https://www.belta.by/{slug}/view/{id}/").test_client()
    index = valid("siteindex.xsd", client.get("/sitemap.xml").data)
    assert [e.text for e in index.iter(f"{SM}loc")] == [f"{BASE}/sitemaps/pages.xml"]
    assert client.get("/sitemap-news.xml").status_code == 404
    assert "sitemap-news" not in client.get("/robots.txt").text


def test_seed_article_page_has_a_figure(client: FlaskClient, app: Flask) -> None:
    html = client.get(f"/articles/{SEED_ID}.html").text
    assert html.count("<img") == 1 and "<figcaption>" in html


def test_the_static_export_lists_older_pages_and_crawler_files(site: Path,
                                                              tmp_path: Path) -> None:
    from feeds.cli import export_paths

    app = make_app(site, tmp_path / "c4")
    paths = export_paths(app)
    client = app.test_client()
    for path in ["/page/1/", "/page/2/", "/society/page/2/", "/robots.txt", "/favicon.ico",
                 "/sitemap.xml", "/sitemaps/pages.xml", "/sitemaps/articles-1.xml",
                 "/sitemap-news.xml"]:
        assert path in paths
        assert client.get(path).status_code == 200, path
    assert "/page/3/" not in paths and "/economics/page/1/" not in paths
