"""A rubric whose only articles are under embargo does not exist yet: 404 everywhere."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_app
from tests.storekit import date_line, write_article

SECRET = "Секретная рубрика"


def test_an_embargoed_only_rubric_is_a_404_in_every_format_and_page(tmp_path: Path) -> None:
    root = tmp_path / "store"
    write_article(root, "public", "Общество", title="Видно")
    write_article(root, "later", SECRET, date_line(2099, 1, 1, 8, 0), "Позже")
    app = make_app(root, tmp_path / "cache")
    client = app.test_client()
    [slug] = [s for s, name in app.extensions["feeds"].store.snapshot.rubrics.items()
              if name == SECRET]
    for path in [f"/feeds/{slug}.rss", f"/feeds/{slug}.atom", f"/feeds/{slug}.json",
                 f"/feeds/{slug}/archive/1.rss", f"/feeds/yandex/{slug}.rss",
                 f"/feeds/dzen/{slug}.rss", f"/{slug}/", f"/{slug}", f"/{slug}/page/1/",
                 f"/{slug}/page/2/", f"/feeds/{slug}.rss?q=Позже"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert SECRET not in response.get_data(as_text=True), path
    assert client.get(f"/search?q=Позже&rubric={slug}").status_code in (400, 404)
    for path in ["/", "/feeds.opml", "/feeds/all.rss", "/feeds/all.json", "/sitemap.xml",
                 "/search?q=Позже"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert SECRET not in response.get_data(as_text=True), path
    assert client.get("/feeds/society.rss").status_code == 200
