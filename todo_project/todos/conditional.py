"""The list's ETag and this process's rendered pages, both keyed by the owner's list stamp (TodoListVersion).

The stamp changes in the transaction of every write of the owner's todos, so an ETag (and a page rendered under
it) is good exactly until the next write: a 304 and a cached page each cost one primary-key read instead of the
list query and the rendering. Every instance reads the same stamp, so a page cached here is never stale there.
"""

import hashlib
import threading
from collections import OrderedDict

from todos.filters import TodoFilters

# Rendered pages kept per process, least recently used dropped first, bounded by their bytes: a page of 100 todos
# with long descriptions runs to a megabyte, so a count alone would not bound a worker's memory.
RENDERED_PAGES_MAX_BYTES = 4 * 1024 * 1024
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
    bytes; safe across threads."""

    def __init__(
        self, max_bytes: int = RENDERED_PAGES_MAX_BYTES, page_max_bytes: int = RENDERED_PAGE_MAX_BYTES
    ) -> None:
        self.max_bytes = max_bytes
        self.page_max_bytes = page_max_bytes
        self.pages: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self.bytes = 0
        self.lock = threading.Lock()

    def get(self, key: str) -> tuple[str, bytes] | None:
        with self.lock:
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
            return page

    def put(self, key: str, content_type: str, body: bytes) -> None:
        if len(body) > self.page_max_bytes:
            return
        with self.lock:
            previous = self.pages.pop(key, None)
            if previous is not None:
                self.bytes -= len(previous[1])
            self.pages[key] = (content_type, body)
            self.bytes += len(body)
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self.pages.popitem(last=False)
                self.bytes -= len(dropped)

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()
            self.bytes = 0


rendered_pages = RenderedPages()
