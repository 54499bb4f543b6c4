"""Generate a deterministic synthetic article store for benchmarks.

    python bench/make_store.py OUTDIR --articles N [--photo-every K] [--seed S]
                               [--end 2026-11-20]

Writes N articles in the newsroom's export layout (see README.md, "The store", and the seed
article) to ``OUTDIR/YYYY/MM/DD/ID.txt``, spread evenly backwards over the ten years that
end on ``--end``: several a day, at distinct minutes between 07:00 and 22:59 Minsk time
while there are enough minutes (that window also keeps clear of the pre-2011 summer-time
gaps). Ids are ``b{n:07d}_{16 hex}``, the hex a hash of n and the seed; n = 0 is the oldest.
Every K-th article (default 10, 0 for none) gets a photo ``ID.jpg`` whose bytes are one of
five small JPEGs made once at start. ``OUTDIR/_default.jpg`` is the store's default image.

The same arguments always give byte-identical files: all choices come from
``random.Random(seed)`` and nothing reads the clock except the timing in the summary line.
Existing files with the same names are overwritten; nothing is deleted.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

RUBRICS = (
    "Президент", "Политика", "Экономика", "Общество", "Регионы",
    "Происшествия", "В мире", "Технологии", "Спорт", "Культура", "Наука",
)  # fmt: skip
MONTHS = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
WEEKDAYS = ("Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота", "Воскресенье")

# (nominative for the dateline, "в ..." for the text)
HOME_PLACES = (
    ("Минск", "в Минске"), ("Брест", "в Бресте"), ("Гомель", "в Гомеле"),
    ("Гродно", "в Гродно"), ("Витебск", "в Витебске"), ("Могилев", "в Могилеве"),
    ("Бобруйск", "в Бобруйске"), ("Барановичи", "в Барановичах"), ("Борисов", "в Борисове"),
    ("Пинск", "в Пинске"), ("Орша", "в Орше"), ("Мозырь", "в Мозыре"),
    ("Солигорск", "в Солигорске"), ("Новополоцк", "в Новополоцке"), ("Лида", "в Лиде"),
    ("Молодечно", "в Молодечно"), ("Полоцк", "в Полоцке"), ("Жлобин", "в Жлобине"),
    ("Речица", "в Речице"), ("Слуцк", "в Слуцке"), ("Кобрин", "в Кобрине"),
    ("Несвиж", "в Несвиже"), ("Жодино", "в Жодино"), ("Светлогорск", "в Светлогорске"),
)  # fmt: skip
FOREIGN_PLACES = (
    ("Москва", "в Москве"), ("Пекин", "в Пекине"), ("Астана", "в Астане"),
    ("Ташкент", "в Ташкенте"), ("Ереван", "в Ереване"), ("Баку", "в Баку"),
    ("Ханой", "в Ханое"), ("Каир", "в Каире"), ("Гавана", "в Гаване"), ("Дели", "в Дели"),
)  # fmt: skip
WEATHER_TOWNS = ("Минск-Уручье", "Минск", "Брест", "Гомель", "Гродно", "Витебск", "Могилев")
SKIES = ("Ясно", "Переменная облачность", "Облачно", "Пасмурно", "Небольшой дождь",
         "Сплошная облачность", "Туман", "Небольшой снег")
MONTH_TEMPS = (-5, -4, 0, 8, 14, 17, 19, 18, 13, 7, 1, -3)

# Facilities: (phrase, gender m/f/n/p) with verbs by gender.
FACILITIES = (
    ("новый спортивный комплекс", "m"), ("центр семейного отдыха", "m"),
    ("детский технопарк", "m"), ("культурно-деловой центр", "m"), ("ледовый дворец", "m"),
    ("молодежный коворкинг", "m"), ("музей истории города", "m"),
    ("пункт проката велосипедов", "m"), ("детская школа искусств", "f"),
    ("экологическая тропа", "f"), ("картинная галерея", "f"), ("новая поликлиника", "f"),
    ("библиотека семейного чтения", "f"), ("IT-академия для школьников", "f"),
    ("новое отделение больницы", "n"), ("пространство для творчества", "n"),
    ("студенческое кафе", "n"), ("курсы цифровой грамотности", "p"),
    ("новые маршруты общественного транспорта", "p"), ("мастерские народных ремесел", "p"),
)  # fmt: skip
FACILITY_VERBS = (
    {"m": "открылся", "f": "открылась", "n": "открылось", "p": "открылись"},
    {"m": "заработал", "f": "заработала", "n": "заработало", "p": "заработали"},
    {"m": "появился", "f": "появилась", "n": "появилось", "p": "появились"},
)
EVENTS = (
    ("международный турнир по шахматам", "m"), ("фестиваль народного творчества", "m"),
    ("форум молодых ученых", "m"), ("республиканский конкурс юных дизайнеров", "m"),
    ("благотворительный забег", "m"), ("семинар для аграриев", "m"),
    ("выставка народных промыслов", "f"), ("ярмарка сельхозпродукции", "f"),
    ("научная конференция", "f"), ("спартакиада школьников", "f"),
    ("акция \"Чистый берег\"", "f"), ("первенство по плаванию", "n"),
    ("совещание по итогам уборочной", "n"), ("соревнования по биатлону", "p"),
    ("Дни белорусской культуры", "p"), ("сборы национальной команды", "p"),
)  # fmt: skip
EVENT_VERBS = (
    {"m": "прошел", "f": "прошла", "n": "прошло", "p": "прошли"},
    {"m": "стартовал", "f": "стартовала", "n": "стартовало", "p": "стартовали"},
    {"m": "завершился", "f": "завершилась", "n": "завершилось", "p": "завершились"},
)
GROUPS = ("Аграрии", "Строители", "Энергетики", "Белорусские ученые", "Школьники",
          "Волонтеры", "Специалисты МЧС", "Железнодорожники", "Дорожники", "Медики",
          "Студенты", "Музейщики", "Машиностроители", "Программисты")
GROUP_VERBS = ("завершили", "начали", "представили", "обсудили", "продолжили")
WORKS = ("модернизацию оборудования", "новый проект", "реконструкцию моста",
         "программу сотрудничества", "ремонт дорог", "подготовку к зиме",
         "план на следующий год", "серию открытых уроков", "испытания новой техники",
         "благоустройство набережной", "цифровую платформу", "работу над выставкой")
METRICS = ("Экспорт услуг", "Объем промышленного производства", "Розничный товарооборот",
           "Пассажиропоток", "Выпуск молочной продукции", "Ввод жилья",
           "Объем грузоперевозок", "Прием туристов")
PERIODS = ("с начала года", "в первом квартале", "за полугодие", "за девять месяцев",
           "в годовом выражении", "за январь-август")
CHANGES = ("вырос", "увеличился", "снизился")

ORGS = ("Облисполком", "Министерство образования", "Национальная академия наук",
        "Белорусская железная дорога", "Райисполком", "Городской отдел образования",
        "Управление по здравоохранению", "Национальный статистический комитет",
        "Министерство спорта и туризма", "Парк высоких технологий")
ORG_VERBS = ("планирует", "продолжает", "завершает", "поддерживает", "рассматривает")
ORG_PLACES = ("в пресс-службе облисполкома", "в местном исполкоме", "в управлении по образованию",
              "в пресс-службе организаторов", "в профильном ведомстве", "в пресс-центре")
ROLES_GEN = ("директора предприятия", "председателя райисполкома", "заместителя министра",
             "начальника управления", "организаторов", "специалистов", "руководителя проекта")
CLAUSES = ("работы идут по графику", "интерес к проекту растет с каждым годом",
           "опыт планируется распространить на другие регионы",
           "все запланированные показатели выполнены",
           "в следующем году мероприятие станет международным",
           "финансирование предусмотрено в полном объеме",
           "жители уже оценили перемены", "основной этап работ завершится к осени")
QUOTES = ("Мы видим большой интерес со стороны жителей",
          "Такие проекты нужны каждому району", "Главное для нас - качество и сроки",
          "Работа будет продолжена и в следующем году",
          "Результаты превзошли наши ожидания", "Это хороший пример того, как можно работать",
          "Мы благодарны всем, кто принял участие")
SPEAKERS = (("директор", "Андрей Ковалев", "отметил"), ("председатель", "Ольга Сидорович",
            "отметила"), ("руководитель проекта", "Сергей Мельников", "рассказал"),
            ("заместитель начальника", "Ирина Лукашевич", "рассказала"),
            ("главный специалист", "Павел Жук", "подчеркнул"),
            ("старший тренер", "Наталья Гринкевич", "подчеркнула"))
WHEN = ("до конца года", "к осени", "в следующем году", "в первом квартале",
        "к началу учебного года", "до конца месяца")
CORRESPONDENTS = ("Ирина Коваленко", "Дмитрий Левченко", "Анна Сергеева", "Игорь Бондарь",
                  "Мария Шевчук", "Алексей Новик")
PHOTOGRAPHERS = ("Сергея Шелега", "Олега Дроздова", "Павла Орешко", "Татьяны Мельник",
                 "Виктора Гриня", "Анны Лукьянович", "Максима Тарасевича", "Марии Жук")


def article_id(n: int, seed: int) -> str:
    """Stable id of article n: b{n:07d}_ and 16 hex digits of a hash of n and the seed."""
    digest = hashlib.blake2b(f"{seed}:{n}".encode(), digest_size=8).hexdigest()
    return f"b{n:07d}_{digest}"


def fmt_day(day: date) -> str:
    """'5 сентября 2025'."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def cap(text: str) -> str:
    """Upper-case the first letter only (str.capitalize would lower the rest)."""
    return text[:1].upper() + text[1:]


def _gradient(size: tuple[int, int], top: tuple[int, ...], bottom: tuple[int, ...]) -> Image.Image:
    """Vertical two-colour gradient."""
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _jpeg(img: Image.Image, quality: int) -> bytes:
    """Encode img as JPEG bytes."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def make_photos(rng: random.Random, count: int = 5) -> list[bytes]:
    """A few small landscape JPEGs (640x400), made once and reused for every photo."""
    w, h = 640, 400
    photos = []
    for _ in range(count):
        sky = (rng.randint(60, 130), rng.randint(120, 180), rng.randint(190, 240))
        field = (rng.randint(90, 230), rng.randint(120, 190), rng.randint(40, 90))
        img = _gradient((w, h), sky, (235, 240, 246))
        draw = ImageDraw.Draw(img)
        sx, sy, r = rng.randint(80, 560), rng.randint(40, 140), rng.randint(22, 40)
        draw.ellipse((sx - r, sy - r, sx + r, sy + r), fill=(255, 236, 180))
        horizon = rng.randint(210, 260)
        points = [(0, h)] + [(x, horizon - rng.randint(0, 28)) for x in range(0, w + 40, 40)]
        draw.polygon([*points, (w, h)], fill=(52, 96, 60))
        draw.rectangle((0, horizon, w, h), fill=field)
        for x in range(-w, 2 * w, 48):
            draw.line([(w // 2, horizon), (x, h)], fill=tuple(c - 25 for c in field), width=3)
        photos.append(_jpeg(img.filter(ImageFilter.GaussianBlur(1.2)), 70))
    return photos


def make_default() -> bytes:
    """The store's default image: agency green with a white band, 800x533."""
    img = _gradient((800, 533), (18, 122, 66), (10, 78, 42))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 236, 800, 296), fill=(255, 255, 255))
    draw.rectangle((360, 216, 440, 316), fill=(15, 107, 58), outline=(255, 255, 255), width=6)
    return _jpeg(img, 75)


class Writer:
    """Assembles article texts from the word lists; holds the one Random."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sentences = [self._sentence() for _ in range(4000)]

    def _title(self, place: str) -> str:
        """One headline set in place ("в Гомеле"), grammatical by construction."""
        rng = self.rng
        kind = rng.randrange(4)
        if kind == 0:
            phrase, gender = rng.choice(FACILITIES)
            return f"{cap(place)} {rng.choice(FACILITY_VERBS)[gender]} {phrase}"
        if kind == 1:
            phrase, gender = rng.choice(EVENTS)
            return f"{cap(place)} {rng.choice(EVENT_VERBS)[gender]} {phrase}"
        if kind == 2:
            return f"{rng.choice(GROUPS)} {rng.choice(GROUP_VERBS)} {rng.choice(WORKS)} {place}"
        pct = f"{rng.randint(1, 15)},{rng.randint(0, 9)}%"
        return f"{rng.choice(METRICS)} {rng.choice(PERIODS)} {rng.choice(CHANGES)} на {pct}"

    def _sentence(self) -> str:
        """One body sentence for the shared pool."""
        rng = self.rng
        kind = rng.randrange(8)
        if kind == 0:
            return self._title(rng.choice(HOME_PLACES)[1]) + "."
        if kind == 1:
            return f"По словам {rng.choice(ROLES_GEN)}, {rng.choice(CLAUSES)}."
        if kind == 2:
            return f"{rng.choice(ORGS)} {rng.choice(ORG_VERBS)} {rng.choice(WORKS)}."
        if kind == 3:
            role, name, verb = rng.choice(SPEAKERS)
            return f'"{rng.choice(QUOTES)}", - {verb} {role} {name}.'
        if kind == 4:
            return f"В мероприятии приняли участие более {rng.randint(5, 90) * 10} человек."
        if kind == 5:
            return f"Работы планируется завершить {rng.choice(WHEN)}."
        if kind == 6:
            return f"Общий объем финансирования составит {rng.randint(2, 60)} млн рублей."
        return f"{cap(rng.choice(CLAUSES))}."

    def article(self, published: datetime) -> bytes:
        """The full text file of one article published at the given Minsk wall time."""
        rng = self.rng
        rubric = rng.choice(RUBRICS)
        foreign = rubric == "В мире"
        city, place = rng.choice(FOREIGN_PLACES if foreign else HOME_PLACES)
        title = self._title(place)
        kind = rng.randrange(4)
        if kind == 0:
            source, lead_tail = "Корр. БЕЛТА", ", передает корреспондент БЕЛТА."
        elif kind == 1:
            source, lead_tail = "БЕЛТА", f", сообщили БЕЛТА {rng.choice(ORG_PLACES)}."
        elif kind == 2:
            source, lead_tail = "Спецкорр. БЕЛТА", ", передает специальный корреспондент БЕЛТА."
        else:
            source = f"Корр. БЕЛТА, {rng.choice(CORRESPONDENTS)}"
            lead_tail = "."
        day = published.date()
        saved = day + timedelta(days=rng.randrange(3))
        temp = MONTH_TEMPS[saved.month - 1] + rng.randint(-5, 5)
        temp_text = f"+{temp}" if temp > 0 else str(temp)
        lines = [
            "ГОСОРГАНЫГОСОРГАНЫ",
            f"Флаг {WEEKDAYS[saved.weekday()]}, {fmt_day(saved)}",
            f"{rng.choice(WEATHER_TOWNS)} {rng.choice(SKIES)} {temp_text}°C",
            "Все новости",
            "Все новости",
            rubric,
            f"{fmt_day(day)}, {published:%H:%M}",
            "",
            title,
            "",
            f"{day.day} {MONTHS[day.month - 1]}, {city} /{source}/. {title}{lead_tail}",
        ]
        pool = self.sentences
        paragraphs = rng.randint(2, 4)
        for i in range(paragraphs):
            text = " ".join(rng.choice(pool) for _ in range(rng.randint(2, 4)))
            lines.append(text + "-0-" if i == paragraphs - 1 else text)
        lines.append("")
        lines.append(f"Фото {rng.choice(PHOTOGRAPHERS)}")
        lines += [f"Новости рубрики {rubric}", "Топ-новости", "Свежие новости Беларуси"]
        return "\n".join(lines).encode("utf-8")


def ten_years_before(end: date) -> date:
    """The first day of the ten-year window that ends on ``end`` (inclusive)."""
    try:
        start = end.replace(year=end.year - 10)
    except ValueError:  # 29 February
        start = end.replace(year=end.year - 10, day=28)
    return start + timedelta(days=1)


def generate(out: Path, articles: int, photo_every: int, seed: int, end: date) -> int:
    """Write the store; returns the number of photos written."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "_default.jpg").write_bytes(make_default())
    writer = Writer(seed)
    photos = make_photos(random.Random(seed ^ 0x5EED))
    start = ten_years_before(end)
    day_minutes = 16 * 60  # 07:00..22:59
    slots = ((end - start).days + 1) * day_minutes
    origin = datetime(start.year, start.month, start.day)
    made_dir = ""
    written = 0
    for n in range(articles):
        slot = (n + 1) * slots // articles - 1 if articles else 0
        days, minute = divmod(slot, day_minutes)
        published = origin + timedelta(days=days, minutes=7 * 60 + minute)
        folder = os.path.join(out, f"{published:%Y/%m/%d}")
        if folder != made_dir:
            os.makedirs(folder, exist_ok=True)
            made_dir = folder
        ident = article_id(n, seed)
        data = writer.article(published)
        with open(os.path.join(folder, ident + ".txt"), "wb") as fh:
            fh.write(data)
        if photo_every and n % photo_every == 0:
            with open(os.path.join(folder, ident + ".jpg"), "wb") as fh:
                fh.write(photos[n // photo_every % len(photos)])
            written += 1
    return written


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("outdir", type=Path, help="store folder to write into")
    parser.add_argument("--articles", type=int, required=True, help="number of articles")
    parser.add_argument("--photo-every", type=int, default=10,
                        help="every K-th article gets a photo (0: none; default 10)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 20),
                        help="last publication day, YYYY-MM-DD (default 2026-11-20)")
    args = parser.parse_args(argv)
    if args.articles < 0:
        parser.error("--articles must be 0 or more")
    if args.photo_every < 0:
        parser.error("--photo-every must be 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: generate and print a one-line summary."""
    args = parse_args(argv)
    began = time.perf_counter()
    photos = generate(args.outdir, args.articles, args.photo_every, args.seed, args.end)
    seconds = time.perf_counter() - began
    print(f"{args.outdir}: {args.articles} articles, {photos} photos, {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
