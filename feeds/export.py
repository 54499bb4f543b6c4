"""The static export: every URL the service answers, as files kept in step with the store.

A build renders only what changed since the last build of the same folder. The
folder keeps a manifest of every file the export owns, each with the signature
of what it was made from (the entries a feed shows, whether a next archive page
exists, a photo's size and mtime; the code, library versions and settings for
all of them) and the hash of its bytes. A path whose signature did not change
is not rendered again. Every file and its .gz twin go to a temporary name in
their own folder and are renamed into place, so a reader of the folder (nginx,
rsync) never sees half a file. Files the export owned and no longer produces
are removed; nothing else in the folder is ever touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import operator
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote

import click
from flask import Flask

from . import urls
from .config import Settings
from .flavours import FLAVOURS
from .formats import FORMATS
from .http import compress, strong_etag
from .model import Entry, FeedRequest, Photo
from .pages import FRONT_PAGE_SIZE
from .publish import ARCHIVE_MAX_AGE, Publisher
from .sitemaps import NEWS_DAYS, NEWS_MAX_URLS, page_count, page_slice
from .snapshot import Snapshot

STATE_DIR = ".feeds-build"  # inside the export folder; never served (see README)
# An empty file here for each archive page that is still filling or recent (the newest
# page of a feed, full pages of the last month): the pages nginx must send with the
# feeds' lifetime, not the hour of settled history.
FILLING_DIR = "filling"
MANIFEST = "manifest.json"
CHANGES = "changes.json"
_FORMAT = 1
_PACKAGE = Path(__file__).parent
_LIBRARIES = ("Flask", "Werkzeug", "Jinja2", "feedgen", "lxml")


@dataclass(frozen=True, slots=True)
class Planned:
    """One path of the export: what it is made from, and the file it copies, if any."""

    signature: str
    source: str | None = None  # a file served as is (photo, static file); None: rendered


@dataclass(frozen=True, slots=True)
class Owned:
    """A manifest row: a path the export wrote, its inputs and its bytes' hash."""

    signature: str
    etag: str  # strong_etag of the plain bytes: the server's ETag too
    size: int
    gz_size: int  # -1: no .gz twin (images)
    max_age: int = -1  # the server's Cache-Control max-age; -1: none given

    def row(self) -> list[object]:
        return [self.signature, self.etag, self.size, self.gz_size, self.max_age]


@dataclass
class Changes:
    """What one run did, by file path relative to the export folder."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # URL paths that did not answer 200
    rendered: int = 0  # paths whose inputs changed (rendered or copied again)
    deferred: int = 0  # of those, left to the next run (the store changed meanwhile)
    seconds: float = 0.0

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.failed)


def _digest(*parts: str) -> str:
    # Paths in odd folders may hold undecodable bytes (surrogates): keep them as bytes.
    joined = "\x1f".join(parts).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(joined, digest_size=12).hexdigest()


def _photo_signature(photo: Photo | None) -> str:
    if photo is None:
        return ""
    return f"{photo.path}:{photo.size}:{photo.mtime_ns}:{photo.mime_type}"


def _file_signature(path: str) -> str:
    info = os.stat(path)
    return f"{path}:{info.st_size}:{info.st_mtime_ns}"


def code_version() -> str:
    """Our package's code, templates and static files, and the renderers' versions."""
    parts = []
    for path in sorted(_PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            parts.append(f"{path.relative_to(_PACKAGE)}:{strong_etag(path.read_bytes())}")
    for library in _LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            parts.append(f"{library}={metadata.version(library)}")
    return _digest(*parts)


class Signer:
    """Signatures reused from plan to plan while the Entry objects are the same.

    A store change replaces only the entries it touches (builder.update_snapshot),
    so a watching build plans 100,000 articles mostly from these tables: an entry's
    signature, an article's planned paths, and the digest of each run of entries a
    listing shows (checked object by object, in C).
    """

    def __init__(self) -> None:
        self._known: dict[str, tuple[Entry, str]] = {}
        self._articles: dict[str, tuple[Entry, tuple[str, ...], list[tuple[str, Planned]]]] = {}
        self._runs: dict[tuple[str, str, int], tuple[Sequence[Entry], str, int]] = {}
        self._plan = 0  # which plan last used a run

    def entry(self, entry: Entry) -> str:
        found = self._known.get(entry.id)
        if found is not None and found[0] is entry:
            return found[1]
        # The file's size and mtime stand for its text; slug and photo come from the scan.
        signature = (f"{entry.id}|{entry.path}|{entry.size}|{entry.mtime_ns}|{entry.slug}|"
                     f"{_photo_signature(entry.photo)}")
        self._known[entry.id] = (entry, signature)
        return signature

    def entries(self, entries: Sequence[Entry]) -> str:
        if not entries:
            return _digest()
        key = (entries[0].id, entries[-1].id, len(entries))
        found = self._runs.get(key)
        if found is not None and all(map(operator.is_, found[0], entries)):
            self._runs[key] = (found[0], found[1], self._plan)
            return found[1]
        digest = _digest(*map(self.entry, entries))
        self._runs[key] = (entries, digest, self._plan)
        return digest

    def article(self, entry: Entry, context: tuple[str, ...],
                make: Callable[[], list[tuple[str, Planned]]]) -> list[tuple[str, Planned]]:
        """An article's planned paths (page, photo), made again only when it changed."""
        found = self._articles.get(entry.id)
        if found is not None and found[0] is entry and found[1] == context:
            return found[2]
        planned = make()
        self._articles[entry.id] = (entry, context, planned)
        return planned

    def forget_except(self, ids: Iterable[str]) -> None:
        """Drop deleted articles and runs no listing shows any more: the tables never
        outgrow the store."""
        keep = set(ids)
        for table in (self._known, self._articles):
            for article_id in [i for i in table if i not in keep]:
                del table[article_id]
        for key in [k for k, run in self._runs.items() if run[2] != self._plan]:
            del self._runs[key]
        self._plan += 1


def plan(app: Flask, signer: Signer, now: float) -> dict[str, Planned]:
    """Every URL path the service answers for the current store, with its signature.

    Which entries each document shows is asked of the publisher, so a signature
    changes exactly when the document's rendering would. The paths are the ones
    urls.site_paths lists (a test holds the two together).
    """
    state = app.extensions["feeds"]
    snapshot = state.store.snapshot
    slugs = snapshot.rubric_slugs(now)
    every = snapshot.released(None, now)
    planner = _Planner(snapshot, state.publisher, state.settings, signer, now,
                       _digest(*(f"{slug}={snapshot.rubrics[slug]}" for slug in slugs)))
    planner.listing(urls.page_path("all"), every[:FRONT_PAGE_SIZE],
                    str(urls.front_older_page(len(every))))
    for path in urls.OPML_RULES.values():
        planner.put(path, signer.entries(every[:1]), planner.rubric_list)
    for name in ["all", *slugs]:
        planner.rubric(name)
    planner.articles(every)
    planner.static_files(Path(app.static_folder or ""))
    _plan_crawler_files(app, signer, every, slugs, planner.rubric_list, now, planner.put)
    signer.forget_except(entry.id for entry in snapshot.entries)
    return planner.planned


class _Planner:
    """One plan under way: the paths so far, and the inputs their signatures share."""

    def __init__(self, snapshot: Snapshot, publisher: Publisher, settings: Settings,
                 signer: Signer, now: float, rubric_list: str) -> None:
        self.snapshot, self.publisher, self.settings = snapshot, publisher, settings
        self.signer, self.now = signer, now
        self.rubric_list = rubric_list  # every page links to every rubric
        self.default = _photo_signature(snapshot.default_photo)
        self.planned: dict[str, Planned] = {}

    def put(self, path: str, *parts: str) -> None:
        self.planned[path] = Planned(_digest(*parts))

    def listing(self, path: str, entries: Sequence[Entry], links: str) -> None:
        """A front, rubric or older-news page: its entries, and where its links lead."""
        self.put(path, self.signer.entries(entries), self.rubric_list, links)

    def rubric(self, name: str) -> None:
        """A rubric's (or "all"'s) pages, feeds, archive pages and flavours."""
        slug = None if name == "all" else name
        released = self.snapshot.released(slug, self.now)
        title = self.snapshot.rubrics.get(slug or "", "")
        if slug is not None:
            self.listing(urls.page_path(slug), released[:FRONT_PAGE_SIZE],
                         str(urls.front_older_page(len(released))))
        listings = urls.listing_pages(len(released))
        for listing in range(1, listings + 1):  # older news: /page/N/, from the oldest
            self.listing(urls.listing_path(name, listing),
                         released[urls.listing_slice(len(released), listing)],
                         str(listing < listings))
        self._feeds(name, released, title)
        for flavour, profile in FLAVOURS.items():
            request = FeedRequest(name, profile.extension, profile.max_items, flavour=flavour)
            entries = self.publisher.flavour_entries(self.snapshot, request, self.now)
            self.put(urls.flavour_path(flavour, name), self.signer.entries(entries), title,
                     self.default)

    def _feeds(self, name: str, released: Sequence[Entry], title: str) -> None:
        """The feed in every format, and its archive pages: one signature for all formats."""
        pages = -(-len(released) // self.settings.archive_page_size)
        shown = self.publisher.select_from(released, FeedRequest(name, "rss", self.settings.limit))
        feed = _digest(self.signer.entries(shown), str(pages), title, self.default)
        for page in range(1, pages + 1):
            entries = self.publisher.archive_entries(released, page)
            # Settling (a month after its newest entry) changes the page's lifetime.
            signature = _digest(self.signer.entries(entries), str(page < pages), title,
                                self.default, str(self.publisher.settled(entries, self.now)))
            for fmt in FORMATS:
                self.planned[urls.archive_path(name, page, fmt)] = Planned(signature)
        for fmt in FORMATS:
            self.planned[urls.feed_path(name, fmt)] = Planned(feed)

    def articles(self, every: Sequence[Entry]) -> None:
        """Each article's page and photo, then the default photo."""
        rubrics = self.snapshot.rubrics
        for entry in every:
            context = (rubrics[entry.slug], "" if entry.photo else self.default,
                       self.rubric_list)
            self.planned.update(self.signer.article(
                entry, context, partial(self._article, entry, context)))
        photo = self.snapshot.default_photo
        if photo is not None:
            self.planned[urls.photo_path(urls.DEFAULT_PHOTO, photo.extension)] = Planned(
                _photo_signature(photo), photo.path)

    def _article(self, entry: Entry, context: tuple[str, ...]) -> list[tuple[str, Planned]]:
        planned = [(urls.article_path(entry.id), Planned(_digest(self.signer.entry(entry),
                                                                  *context)))]
        if entry.photo is not None:
            planned.append((urls.photo_path(entry.id, entry.photo.extension),
                            Planned(_photo_signature(entry.photo), entry.photo.path)))
        return planned

    def static_files(self, folder: Path) -> None:
        for file in sorted(folder.iterdir()):
            if file.is_file():
                self.planned[urls.static_path(file.name)] = Planned(
                    _file_signature(str(file)), str(file))


def _plan_crawler_files(app: Flask, signer: Signer, every: Sequence[Entry], slugs: list[str],
                        rubric_list: str, now: float, put: Callable[..., None]) -> None:
    """robots.txt, the icon and the sitemaps (crawlers.py), as urls.crawler_paths lists."""
    snapshot = app.extensions["feeds"].store.snapshot
    local = not app.extensions["feeds"].settings.article_url
    favicon = Path(app.static_folder or "") / "favicon.ico"
    put(urls.ROBOTS_RULE, "robots", str(local))
    put(urls.FAVICON_RULE, _file_signature(str(favicon)))
    firsts = [signer.entries(snapshot.released(slug, now)[:1]) for slug in slugs]
    put(urls.PAGES_SITEMAP_RULE, rubric_list, signer.entries(every[:1]), *firsts)
    oldest_first = every[::-1] if local else ()
    put(urls.SITEMAP_RULE, signer.entries(oldest_first), signer.entries(every[:1]))
    for page in range(1, page_count(len(oldest_first)) + 1 if oldest_first else 1):
        start, end = page_slice(len(oldest_first), page)
        put(urls.articles_sitemap_path(page), signer.entries(oldest_first[start:end]))
    if local:
        recent = [e for e in every[:NEWS_MAX_URLS] if e.timestamp >= now - NEWS_DAYS * 86400]
        put(urls.NEWS_SITEMAP_RULE, signer.entries(recent))


def file_for(path: str) -> str:
    """The file path, relative to the export folder, that holds a URL path."""
    relative = unquote(path).lstrip("/")
    return relative + "index.html" if relative.endswith("/") or not relative else relative


_LONG_TAIL = 6  # older-news listings: many, though a new article adds at most one
_ASK_EVERY = 0.25  # seconds between "has the store changed?" during the long tail


# The write rank of each kind of path (urls.route_kind); other pages rank 5.
_WRITE_RANK = {"static": 0, "photo": 1, "article": 2, "archive": 3, "feed": 4, "flavour": 4}


def _link_order(path: str) -> int:
    """What is linked to is written before what links to it: a reader never meets a 404.

    The older-news listings come last: they are many, and a watching build may
    leave them for a quieter moment (see Exporter.run).
    """
    rank = _WRITE_RANK.get(urls.route_kind(path))
    if rank is not None:
        return rank
    return _LONG_TAIL if urls.older_listing(path) else 5


def write_atomically(target: Path, data: bytes, mode: int = 0o644) -> None:
    """A temporary file in the same folder, renamed over the target: never half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                             dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _filling(path: str, owned: Owned | None) -> bool:
    """An archive page sent with the feeds' lifetime, not settled history's: one that
    still changes often."""
    return (owned is not None and "/archive/" in path
            and 0 <= owned.max_age != ARCHIVE_MAX_AGE)


def _present(target: Path, size: int) -> bool:
    try:
        return target.stat().st_size == size
    except OSError:
        return False


class Exporter:
    """Keeps one export folder in step with one app's store, run after run."""

    def __init__(self, app: Flask, outdir: Path) -> None:
        self.app = app
        self.outdir = outdir
        self.client = app.test_client()
        self.signer = Signer()
        self.mode = _umask_mode()
        settings = app.extensions["feeds"].settings
        self.version = _digest(code_version(), repr(settings), os.path.realpath(
            settings.content_dir))
        self.owned = self._load()
        self._verified = False

    # -- the manifest -------------------------------------------------------------

    @property
    def state_dir(self) -> Path:
        return self.outdir / STATE_DIR

    def _load(self) -> dict[str, Owned]:
        """The manifest of the last build; rows made by other code or settings never match."""
        try:
            data = json.loads((self.state_dir / MANIFEST).read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return {}
        same = data.get("version") == self.version
        owned = {}
        for path, row in (data.get("files") or {}).items():
            signature, etag, size, gz_size, *rest = row
            owned[path] = Owned(signature if same else "", etag, size, gz_size, *rest[:1])
        return owned

    def _save(self, changes: Changes) -> None:
        """The manifest when anything changed; the run's changes always (maybe none)."""
        if not changes.empty or not (self.state_dir / MANIFEST).exists():
            files = {path: owned.row() for path, owned in sorted(self.owned.items())}
            manifest = {"format": _FORMAT, "version": self.version, "files": files}
            write_atomically(self.state_dir / MANIFEST,
                             json.dumps(manifest, separators=(",", ":")).encode(), self.mode)
        report = {"finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "added": changes.added, "changed": changes.changed,
                  "removed": changes.removed, "failed": changes.failed}
        write_atomically(self.state_dir / CHANGES,
                         (json.dumps(report, indent=1, ensure_ascii=False) + "\n").encode(),
                         self.mode)

    @property
    def article_count(self) -> int:
        """Article pages in the last build: what an empty store would take away."""
        return sum(1 for path in self.owned if path.startswith("/articles/"))

    # -- one run ------------------------------------------------------------------

    def run(self, now: float | None = None, progress: bool = False,
            interrupted: Callable[[], bool] | None = None) -> Changes:
        """Bring the folder in step with the store's current snapshot.

        interrupted, asked now and then once the feeds and pages are written, may
        stop the run before the older-news listings: what is left keeps its old
        signature and is planned again by the next run.
        """
        started = time.monotonic()
        now = time.time() if now is None else now
        wanted = plan(self.app, self.signer, now)
        # The first run of a process checks the files are still there; later ones trust
        # what this process wrote.
        verify = not self._verified
        todo = sorted((path for path, planned in wanted.items()
                       if not self._current(path, planned, verify)), key=_link_order)
        changes = Changes(rendered=len(todo))
        head = [path for path in todo if _link_order(path) < _LONG_TAIL]
        self._produce(head, wanted, changes, progress, None)
        # Retracted articles go before the long tail of listings, not after it.
        self._remove([path for path in self.owned if path not in wanted], changes)
        self._produce(todo[len(head):], wanted, changes, progress, interrupted)
        self._verified = True
        self._save(changes)
        changes.seconds = time.monotonic() - started
        return changes

    def _current(self, path: str, planned: Planned, verify: bool) -> bool:
        owned = self.owned.get(path)
        if owned is None or owned.signature != planned.signature:
            return False
        if not verify:
            return True
        target = self.outdir / file_for(path)
        return _present(target, owned.size) and (
            owned.gz_size < 0 or _present(target.with_name(target.name + ".gz"),
                                          owned.gz_size)) and (
            not _filling(path, owned) or self._marker(path).exists())

    def _produce(self, todo: Sequence[str], wanted: dict[str, Planned], changes: Changes,
                 progress: bool, interrupted: Callable[[], bool] | None) -> None:
        bar = click.progressbar(todo, label=f"Building {self.outdir}", file=None,
                                show_pos=True) if progress else contextlib.nullcontext(todo)
        asked = 0.0
        with bar as paths:
            for done, path in enumerate(paths):
                if (interrupted is not None and time.monotonic() - asked > _ASK_EVERY
                        and _link_order(path) == _LONG_TAIL):
                    asked = time.monotonic()
                    if interrupted():
                        changes.deferred += len(todo) - done
                        return
                planned = wanted[path]
                body, compressible, max_age = self._bytes(path, planned)
                try:
                    if body is None:
                        raise FileNotFoundError(0, "did not answer 200")
                    self._store(path, planned.signature, body, compressible, max_age, changes)
                except OSError as exc:  # one unwritable file must not lose the rest
                    changes.failed.append(f"{path} ({exc.strerror})")
                    old = self.owned.get(path)
                    # Owned (so removable) whatever was written; tried again next run.
                    self.owned[path] = (Owned("", old.etag, old.size, old.gz_size) if old
                                        else Owned("", "", 0, 0))

    def _bytes(self, path: str, planned: Planned) -> tuple[bytes | None, bool, int]:
        """The body, whether it gets a .gz twin, and its max-age (-1: none)."""
        if planned.source is not None:
            store = self.app.extensions["feeds"].store
            if (path.startswith("/photos/")
                    and not path.startswith(f"/photos/{urls.DEFAULT_PHOTO}.")
                    and not store.leads_inside(planned.source)):
                return None, False, -1  # replaced by a link out of the store since the scan
            try:
                with open(planned.source, "rb") as handle:
                    data = handle.read()
            except OSError:
                return None, False, -1
            guessed = mimetypes.guess_type(path)[0] or ""
            return data, not path.startswith("/photos/") and not guessed.startswith("image/"), -1
        response = self.client.get(path)
        if response.status_code != 200:
            return None, False, -1
        max_age = response.cache_control.max_age
        return (response.get_data(), not (response.mimetype or "").startswith("image/"),
                -1 if max_age is None else max_age)

    def _store(self, path: str, signature: str, body: bytes, compressible: bool, max_age: int,
               changes: Changes) -> None:
        """Write the file and its twin unless the bytes on disk are already these."""
        etag = strong_etag(body)
        old = self.owned.get(path)
        owned = Owned(signature, etag, len(body), -1, max_age)
        if _filling(path, owned):  # marked before the page shows: never the long lifetime for it
            self._mark(path, True)
        relative = file_for(path)
        target = self.outdir / relative
        packed = compress(body) if compressible else None
        gz_size = len(packed) if packed is not None else -1
        same = (old is not None and old.etag == etag and old.gz_size == gz_size
                and _present(target, len(body))
                and (packed is None or _present(target.with_name(target.name + ".gz"),
                                                gz_size)))
        if not same:
            # The plain file first: a new resource is complete before nginx's
            # gzip_static can find its twin.
            write_atomically(target, body, self.mode)
            if packed is not None:
                write_atomically(target.with_name(target.name + ".gz"), packed, self.mode)
            elif old is not None and old.gz_size >= 0:
                self._unlink(relative + ".gz")
            names = [relative] + ([relative + ".gz"] if packed is not None else [])
            (changes.changed if old is not None else changes.added).extend(names)
        self.owned[path] = replace(owned, gz_size=gz_size)
        if not _filling(path, owned) and _filling(path, old):
            self._mark(path, False)  # full now: unmarked once its final bytes are in place

    def _remove(self, paths: list[str], changes: Changes) -> None:
        """Delete what the export wrote and no longer produces; nothing else."""
        for path in sorted(paths):
            owned = self.owned.pop(path)
            relative = file_for(path)
            if owned.gz_size >= 0:  # the twin first, so no gzip client gets a stale copy
                self._unlink(relative + ".gz")
                changes.removed.append(relative + ".gz")
            self._unlink(relative)
            changes.removed.append(relative)
            if _filling(path, owned):
                self._mark(path, False)
            self._prune(Path(relative).parent)

    def _marker(self, path: str) -> Path:
        return self.state_dir / FILLING_DIR / file_for(path)

    def _mark(self, path: str, filling: bool) -> None:
        marker = self._marker(path)
        if filling and not marker.exists():
            write_atomically(marker, b"", self.mode)
        elif not filling:
            with contextlib.suppress(FileNotFoundError):
                marker.unlink()

    def _unlink(self, relative: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.outdir / relative)

    def _prune(self, folder: Path) -> None:
        """Remove folders the export emptied (an empty folder is nobody's content)."""
        while folder.parts:
            try:
                (self.outdir / folder).rmdir()
            except OSError:
                return
            folder = folder.parent
