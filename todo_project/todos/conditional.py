"""The list's ETag and this process's rendered pages, both keyed by the owner's list stamp (TodoListVersion).

The stamp changes in the transaction of every write of the owner's todos, so an ETag (and a page rendered under
it) is good exactly until the next write: a 304 and a cached page each cost one primary-key read instead of the
list query and the rendering. Every instance reads the same stamp, so a page cached here is never stale there.
"""

import hashlib
import threading
from collections import OrderedDict

from django.conf import settings

from todos.filters import TodoFilters

# A page larger than this is rendered each time rather than pushing out many small ones.
RENDERED_PAGE_MAX_BYTES = 256 * 1024


def list_etag(
    *, owner_id: str, stamp: str, filters: TodoFilters, limit: int, offset: int, base_url: str, media_type: str
) -> str:
    """A strong ETag for one page of one owner's list as one representation; no two URLs or owners share one."""
    # Normalised: parameters in any order, `?completed=` or a default ordering spelled out name the same page.
    parts = (owner_id, stamp, repr(filters.completed), filters.search, ",".join(filters.ordering))
    parts += (str(limit), str(offset), base_url, media_type)
    return '"' + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32] + '"'


class RenderedPages:
    """Page key (its ETag and query string) -> (content type, body) of pages rendered by this process, bounded in
    bytes; safe across threads.

    Least recently used pages are dropped first, and the bound is in bytes because a page of 100 todos with long
    descriptions runs to a megabyte: a count alone would not bound a worker's memory. The bound is
    settings.TODO_LIST_PAGE_CACHE_BYTES unless one is given; 0 keeps nothing.
    """

    def __init__(self, max_bytes: int | None = None, page_max_bytes: int = RENDERED_PAGE_MAX_BYTES) -> None:
        self.configured_max_bytes = max_bytes
        self.page_max_bytes = page_max_bytes
        self.pages: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self.bytes = 0
        self.lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        # Read on each use rather than at import, so the setting as it is now (a test's override included) applies.
        if self.configured_max_bytes is not None:
            return self.configured_max_bytes
        return settings.TODO_LIST_PAGE_CACHE_BYTES

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, key: str) -> tuple[str, bytes] | None:
        if not self.enabled:
            return None
        with self.lock:
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
            return page

    def put(self, key: str, content_type: str, body: bytes) -> None:
        max_bytes = self.max_bytes
        with self.lock:
            if len(body) <= min(self.page_max_bytes, max_bytes):
                previous = self.pages.pop(key, None)
                if previous is not None:
                    self.bytes -= len(previous[1])
                self.pages[key] = (content_type, body)
                self.bytes += len(body)
            while self.bytes > max_bytes:
                _, (_, dropped) = self.pages.popitem(last=False)
                self.bytes -= len(dropped)

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()
            self.bytes = 0


rendered_pages = RenderedPages()
