"""Error answers people see: Russian HTML pages in the site's style.

Feed, photo, sitemap and other machine URLs keep their short plain-text
errors; everything else a browser would open gets a page.
"""

from __future__ import annotations

from flask import Response, render_template

from .formats import FORMATS
from .urls import FAVICON_RULE, for_programs, opml_path, page_path, static_path

MESSAGES = {
    400: ("Неверный запрос", "Адрес содержит ошибку. Проверьте его и попробуйте снова."),
    404: ("Страница не найдена", "Такой страницы нет: возможно, адрес набран с ошибкой"
          " или материал снят с публикации."),
    405: ("Метод не поддерживается", "Эта страница открывается только для чтения."),
    500: ("Внутренняя ошибка", "На сервере что-то пошло не так. Мы уже знаем об этом;"
          " попробуйте обновить страницу чуть позже."),
    503: ("Сервис временно недоступен", "Сайт обновляется. Попробуйте через несколько секунд."),
}


def for_people(path: str) -> bool:
    """True when an error at this path should be an HTML page rather than plain text."""
    return not for_programs(path)


def error_page(code: int, site_title: str, prefix: str = "") -> Response:
    """The page, with links relative to the site root: the request's host may be the fault.

    prefix is the path of FEEDS_BASE_URL (/feeds for https://belta.by/feeds), if any.
    """
    heading, message = MESSAGES.get(code, MESSAGES[500 if code >= 500 else 400])
    html = render_template(
        "error.html", code=code, heading=heading, message=message, site_title=site_title,
        title=heading, feeds=(), home=prefix + page_path("all"), favicon=prefix + FAVICON_RULE,
        icon=prefix + static_path("icon.png"),
        opmls=[{"href": prefix + opml_path(fmt.extension), "format": fmt.label}
               for fmt in FORMATS.values()])
    response = Response(html, code, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store" if code >= 500 else "public, max-age=60"
    return response
