"""From the store's snapshot to rendered feed documents, cached per version.

A feed is rendered again only when its entries changed: the cache key holds
the snapshot generation and how many of its entries are still under embargo.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import quote

from .bounded import Bounded, key_bytes
from .config import Settings
from .filters import matching
from .fit import fit
from .flavours import FLAVOURS
from .formats import FORMATS
from .http import Rendered
from .metrics import observe_render
from .model import Entry, FeedRequest, NotFound
from .parse import MINSK
from .render import FeedMeta, Item
from .search import Searcher
from .snapshot import Snapshot
from .store import Store
from .urls import Urls

TAG_PREFIX = "tag:belta.by,2025:"
# Pages are counted from the oldest entry, so an article dated T (new, edited or
# deleted) changes only pages holding entries newer than T. A full page whose newest
# entry is older than this is settled history: only an article backdated (or an old
# one edited, deleted or retracted) further back than this changes it.
ARCHIVE_SETTLED_AFTER = 30 * 24 * 3600
# No page can be promised never to change (a retraction must leave every page), so
# settled history is kept an hour, not a week: a correction to an old article reaches
# every cache within it, and a revalidation with the ETag costs a 304 (README).
ARCHIVE_MAX_AGE = 3600
# Per worker, every table bounded in entries and bytes (README, "How it stays fast").
_CACHE_SIZE = 512
_CACHE_BYTES = 32 << 20  # rendered documents (both bodies) kept in memory
_SELECTIONS = 64  # filtered entry lists
_SELECTION_BYTES = 2 << 20
_VERSIONS = 1024  # earlier versions of subscription documents, for delta requests
_VERSION_BYTES = 8 << 20
# Google News reads at most 2 MB of a feed; larger documents lose their oldest entries.
MAX_FEED_BYTES = 2_000_000
_WARM_BODIES = 512  # article bodies read ahead per process (the store keeps 1024)
# An empty feed still needs an updated time; the clock would break determinism.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def guid(article_id: str) -> str:
    """A tag: URI from the id alone: the same whatever host or scheme serves it."""
    return f"{TAG_PREFIX}{quote(article_id, safe='-_.~')}"


def last_modified(entries: Sequence[Entry], changed_ns: int = 0) -> datetime:
    """The newest moment any of these entries (or, with changed_ns, a folder) changed."""
    newest = max(changed_ns, 0) / 1e9
    for entry in entries:
        newest = max(newest, entry.timestamp, entry.mtime_ns / 1e9)
        if entry.photo is not None:
            newest = max(newest, entry.photo.mtime_ns / 1e9)
    return datetime.fromtimestamp(newest, UTC) if newest else _EPOCH


class RenderCache:
    """Rendered documents by key, least recently used out, bounded in entries and bytes."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._documents: Bounded[tuple, Rendered] = Bounded(
            max_entries, max_bytes, lambda key, rendered: key_bytes(key) + rendered.size)

    def __len__(self) -> int:
        return len(self._documents)

    @property
    def bytes(self) -> int:
        return self._documents.bytes

    def clear(self) -> None:
        self._documents.clear()

    def get(self, key: tuple, build: Callable[[], Rendered], compress: bool = True) -> Rendered:
        """Return the cached version for key, building it on a miss (outside the lock);
        compress False: gzip is made when a client first asks for it."""
        found = self._documents.get(key)
        if found is not None:
            return found
        started = time.perf_counter()
        rendered = build()
        if compress:
            rendered.gzipped  # noqa: B018 - made now, before any request waits for it
        observe_render(str(key[0]), time.perf_counter() - started)
        self._documents.put(key, rendered)
        return rendered


class Publisher:
    """Turns requests into cached Rendered documents for one store."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._cache = RenderCache(_CACHE_SIZE, _CACHE_BYTES)
        self._selections: Bounded[tuple, list[Entry]] = Bounded(
            _SELECTIONS, _SELECTION_BYTES, lambda key, found: key_bytes(key) + 8 * len(found))
        self.searcher = Searcher(store.index)
        # Recent versions of subscription documents, (request, base, etag) -> manifest,
        # for RFC 3229 delta requests.
        self._versions: Bounded[tuple, Manifest] = Bounded(
            _VERSIONS, _VERSION_BYTES, lambda key, manifest: key_bytes(key)
            + manifest_bytes(manifest))
        self._warmed = -1
        self._modified = (-1, _EPOCH)  # (snapshot generation, its newest change)

    def warm(self, snapshot: Snapshot) -> None:
        """Read the bodies the subscription feeds show, in the scan thread, once per scan.

        So every worker can render every subscription feed whole even while the
        store is lost (a worker that never rendered a feed would otherwise drop its
        items then); at most _WARM_BODIES, half the store's body cache.
        """
        if snapshot.generation == self._warmed:
            return
        self._warmed = snapshot.generation
        self._store_modified(snapshot)  # paid here, not by the first archive request
        now, seen = time.time(), set[str]()
        for slug in (None, *snapshot.by_slug):
            for entry in snapshot.released(slug, now)[: self.settings.limit]:
                if len(seen) >= _WARM_BODIES:
                    return
                if entry.id not in seen:
                    seen.add(entry.id)
                    self.store.article(entry)
                    time.sleep(0)  # a request waiting for the interpreter goes first

    # -- caching ------------------------------------------------------------------

    def cached(self, key: tuple, build: Callable[[], Rendered], compress: bool = True) -> Rendered:
        """Return the cached version for key, building it on a miss."""
        return self._cache.get(key, build, compress)

    # -- items ----------------------------------------------------------------------

    def feed_title(self, snapshot: Snapshot, name: str) -> str:
        rubric = "Все новости" if name == "all" else snapshot.rubrics[name]
        return f"{self.settings.site_title} — {rubric}"

    def items(self, snapshot: Snapshot, entries: Sequence[Entry], urls: Urls) -> list[Item]:
        """Load article bodies and resolve URLs; entries whose file broke are left out."""
        default = snapshot.default_photo
        items = []
        for entry in entries:
            article = self.store.article(entry)
            if article is None:
                self.store.guard.check_not_held()  # never a feed short of items: 503
                continue
            photo = entry.photo or default
            assert photo is not None
            photo_name = entry.id if entry.photo is not None else "_default"
            items.append(Item(
                article=article, entry=entry, url=urls.article(entry), guid=guid(entry.id),
                photo=photo, photo_url=urls.photo(photo_name, photo.extension),
                has_own_photo=entry.photo is not None, rubric_url=urls.page(entry.slug),
            ))
        return items

    def select(self, snapshot: Snapshot, request: FeedRequest, now: float) -> list[Entry]:
        """The entries of a subscription document, filters applied, newest first."""
        slug = None if request.name == "all" else request.name
        if not request.filtered:
            return list(snapshot.released(slug, now)[: request.limit])
        # A search costs milliseconds: remember the answer for this store version.
        key = (request, snapshot.generation, snapshot.embargoed_count(slug, now))
        found = self._selections.get(key)
        if found is None:
            found = matching(self.searcher, snapshot, request, slug, now)
            self._selections.put(key, found)
        return found

    @staticmethod
    def select_from(entries: Sequence[Entry], request: FeedRequest) -> list[Entry]:
        """The first request.limit entries of an unfiltered request."""
        assert not request.filtered, "filtered requests go through select()"
        return list(entries[: request.limit])

    # -- feeds ----------------------------------------------------------------------

    def feed(self, request: FeedRequest, base: str, now: float) -> Rendered:
        """The rendered document for a feed request, or NotFound."""
        snapshot = self.store.snapshot
        if request.fmt not in FORMATS:
            raise NotFound(request.fmt)
        slug = None if request.name == "all" else request.name
        if slug is not None and not snapshot.has_rubric(slug, now):
            raise NotFound(request.name)
        if request.flavour:
            # Flavours look back a fixed number of days, so the hour is part of the key.
            key: tuple = ("flavour", request, base, snapshot.generation,
                          snapshot.embargoed_count(slug, now), int(now // 3600))
            return self.cached(key, lambda: self._flavoured(snapshot, request, base, now))
        released = snapshot.released(slug, now)
        pages = -(-len(released) // self.settings.archive_page_size)
        if request.page is not None:
            entries = self.archive_entries(released, request.page)
            # A page's bytes depend only on its entries and on whether a next page exists.
            settled = self.settled(entries, now)
            key = ("archive", request, base, tuple(entries), request.page < pages,
                   snapshot.rubrics.get(slug or ""), snapshot.default_photo, settled)
            rendered = self.cached(key, lambda: self._archive(snapshot, request, base, entries,
                                                              pages, settled))
            # A page also changes when an article dated before its entries comes, goes or
            # moves: its own entries' dates cannot show that, the store's newest change can.
            return self._not_before(rendered, self._store_modified(snapshot))
        entries = self.select(snapshot, request, now)
        key = ("feed", request, base, tuple(entries), pages, snapshot.rubrics.get(slug or ""),
               snapshot.default_photo)
        # A search is seldom asked twice: its gzip body is made only if a client wants it.
        rendered = self.cached(key, lambda: self._remember(
            (request, base), self._subscription(snapshot, request, base, entries, pages)),
            compress=not request.filtered)
        # Folder mtimes also count, so a deleted article moves Last-Modified on.
        return self._not_before(rendered, last_modified((), snapshot.changed_ns))

    @staticmethod
    def _not_before(rendered: Rendered, newest: datetime) -> Rendered:
        if newest > rendered.last_modified:
            return rendered.with_last_modified(newest)
        return rendered

    def settled(self, entries: Sequence[Entry], now: float) -> bool:
        """Whether an archive page is settled history: full, its newest entry a month old."""
        return (len(entries) == self.settings.archive_page_size
                and entries[0].timestamp < now - ARCHIVE_SETTLED_AFTER)

    def _store_modified(self, snapshot: Snapshot) -> datetime:
        """The newest change anywhere in the store (any file or folder), once per snapshot."""
        generation, newest = self._modified
        if generation != snapshot.generation:
            # File times only: an embargoed entry's date is in the future.
            files = max((e.mtime_ns for e in snapshot.entries), default=0)
            photos = max((e.photo.mtime_ns for e in snapshot.entries if e.photo is not None),
                         default=0)
            newest = last_modified((), max(snapshot.changed_ns, files, photos))
            self._modified = (snapshot.generation, newest)
        return newest

    def _remember(self, feed: tuple, rendered: Rendered) -> Rendered:
        self._versions.put((*feed, rendered.etag), rendered.manifest)
        return rendered

    def delta(self, request: FeedRequest, base: str, now: float, old_etags: list[str],
              current: Rendered) -> Rendered | None:
        """Only the entries added or changed since a version the client has (RFC 3229)."""
        if request.page is not None or request.flavour:
            return None
        known_tags = [(tag, old) for tag in old_etags
                      if (old := self._versions.get((request, base, tag))) is not None]
        if not known_tags:
            return None
        old_etag, old = known_tags[0]
        known = set(old)
        changed = frozenset(entry_id for entry_id, digest in current.manifest
                            if (entry_id, digest) not in known)
        snapshot = self.store.snapshot
        slug = None if request.name == "all" else request.name
        pages = -(-len(snapshot.released(slug, now)) // self.settings.archive_page_size)
        entries = [e for e in self.select(snapshot, request, now) if e.id in changed]
        key = ("delta", request, base, old_etag, current.etag)
        return self.cached(key, lambda: self._subscription(snapshot, request, base, entries,
                                                           pages))

    def _meta(self, snapshot: Snapshot, name: str, urls: Urls, self_url: str,
              entries: Sequence[Entry], **links: object) -> FeedMeta:
        title = self.feed_title(snapshot, name)
        updated = entries[0].published if entries else _EPOCH.astimezone(MINSK)
        return FeedMeta(
            feed_id=f"{TAG_PREFIX}feeds/{name}",
            title=title,
            description=f"{title}: новости Белорусского телеграфного агентства",
            html_url=urls.page(name),
            self_url=self_url,
            updated=updated,
            icon_url=urls.static("icon.png"),
            logo_url=urls.static("logo.png"),
            hubs=self.settings.websub_hubs,
            **links,  # type: ignore[arg-type]
        )

    def _subscription(self, snapshot: Snapshot, request: FeedRequest, base: str,
                      entries: list[Entry], pages: int) -> Rendered:
        """The feed's subscription document: its newest entries, linked to the archive."""
        urls = Urls(base, self.settings.article_url)
        prev_archive = None
        if pages and not request.filtered:
            prev_archive = urls.archive(request.name, pages, request.fmt)
        self_url = urls.feed(request.name, request.fmt)
        meta = self._meta(snapshot, request.name, urls, self_url, entries,
                          prev_archive=prev_archive)
        items = self.items(snapshot, entries, urls)
        fmt = FORMATS[request.fmt]
        return self._render_capped(lambda chosen: fmt.render(meta, chosen), items,
                                   MAX_FEED_BYTES, fmt.content_type,
                                   last_modified(entries), self.settings.max_age)

    def _flavoured(self, snapshot: Snapshot, request: FeedRequest, base: str,
                   now: float) -> Rendered:
        """Yandex News or Dzen: recent days only, within the aggregator's size limits."""
        flavour = FLAVOURS[request.flavour]
        urls = Urls(base, self.settings.article_url)
        entries = self.flavour_entries(snapshot, request, now)
        meta = self._meta(snapshot, request.name, urls, urls.flavour(request.flavour, request.name),
                          entries)
        wide_logo = urls.static("logo-wide.png")
        items = self.items(snapshot, entries, urls)
        return self._render_capped(lambda chosen: flavour.render(meta, chosen, wide_logo), items,
                                   flavour.max_bytes, FORMATS[flavour.extension].content_type,
                                   last_modified(entries, snapshot.changed_ns),
                                   self.settings.max_age)

    def flavour_entries(self, snapshot: Snapshot, request: FeedRequest,
                        now: float) -> list[Entry]:
        """What an aggregator flavour shows: its last days, at most its item count."""
        flavour = FLAVOURS[request.flavour]
        slug = None if request.name == "all" else request.name
        oldest = now - flavour.days * 86400
        if request.filtered:
            # A filtered flavour searches the flavour's whole window, newest first.
            since = oldest if request.since is None else max(oldest, request.since)
            return self.select(snapshot, replace(
                request, since=since, limit=min(request.limit, flavour.max_items)), now)
        newest = snapshot.released(slug, now)[: min(request.limit, flavour.max_items)]
        return [e for e in newest if e.timestamp >= oldest]

    def _render_capped(self, render: Callable[[Sequence[Item]], bytes], items: list[Item],
                       max_bytes: int, media_type: str, modified: datetime,
                       max_age: int) -> Rendered:
        """Render within max_bytes: trim entries too large for a share, then drop the oldest."""
        body, items = fit(render, items, max_bytes)
        manifest = tuple((item.entry.id, _item_digest(item)) for item in items)
        return Rendered(body, media_type, modified, max_age, manifest=manifest)

    def archive_entries(self, released: Sequence[Entry], page: int) -> list[Entry]:
        """Page N holds entries N*size-size .. N*size-1 counted from the oldest."""
        size = self.settings.archive_page_size
        end = len(released) - (page - 1) * size
        if page < 1 or end <= 0:
            raise NotFound(f"page {page}")
        return list(released[max(0, end - size) : end])

    def _archive(self, snapshot: Snapshot, request: FeedRequest, base: str,
                 entries: list[Entry], pages: int, settled: bool) -> Rendered:
        """An RFC 5005 archive document; a settled one (full, all its entries a month old)
        is sent with an hour's lifetime, every other with the feeds' own."""
        urls = Urls(base, self.settings.article_url)
        page = request.page or 0
        meta = self._meta(
            snapshot, request.name, urls, urls.archive(request.name, page, request.fmt), entries,
            is_archive=True, current=urls.feed(request.name, request.fmt),
            prev_archive=urls.archive(request.name, page - 1, request.fmt) if page > 1 else None,
            next_archive=(urls.archive(request.name, page + 1, request.fmt)
                          if page < pages else None),
        )
        max_age = ARCHIVE_MAX_AGE if settled else self.settings.max_age
        return self._render(request.fmt, meta, self.items(snapshot, entries, urls),
                            last_modified(entries), max_age)

    def _render(self, fmt: str, meta: FeedMeta, items: list[Item], modified: datetime,
                max_age: int) -> Rendered:
        """Archive pages keep every entry, whatever their size."""
        return self._render_capped(lambda chosen: FORMATS[fmt].render(meta, chosen), items,
                                   sys.maxsize, FORMATS[fmt].content_type, modified, max_age)


Manifest = tuple[tuple[str, str], ...]


def manifest_bytes(manifest: Manifest) -> int:
    """What a delta manifest holds: ids and 16-digit digests, with their tuples."""
    return sum(len(entry_id) + 120 for entry_id, _ in manifest)


def _item_digest(item: Item) -> str:
    """What changes when an entry's rendering would change, for delta feeds."""
    parts = [item.article.title, item.article.published.isoformat(), item.article.rubric,
             *item.article.paragraphs, item.photo_url, str(item.photo.size),
             item.article.credit or ""]
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).hexdigest()
