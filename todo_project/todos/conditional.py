"""The list's ETag and this process's rendered pages, both keyed by the owner's list stamp (TodoListVersion).

The stamp changes in the transaction of every write of the owner's todos, so an ETag (and a page rendered under
it) is good exactly until the next write: a 304 and a cached page each cost one primary-key read instead of the
list query and the rendering. Every instance reads the same stamp, so a page cached here is never stale there.
"""

import hashlib
import threading
from collections import OrderedDict

from todos.filters import TodoFilters

# Rendered pages kept per process, least recently used dropped first: a few MB at most (a page is about 10 KB).
RENDERED_PAGES_KEPT = 256


def list_etag(
    *, owner_id: str, stamp: str, filters: TodoFilters, limit: int, offset: int, base_url: str, media_type: str
) -> str:
    """A strong ETag for one page of one owner's list as one representation; no two URLs or owners share one."""
    # Normalised: parameters in any order, `?completed=` or a default ordering spelled out name the same page.
    parts = (owner_id, stamp, repr(filters.completed), filters.search, ",".join(filters.ordering))
    parts += (str(limit), str(offset), base_url, media_type)
    return '"' + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32] + '"'


class RenderedPages:
    """ETag -> (content type, body) of pages rendered by this process, bounded; safe across gunicorn threads."""

    def __init__(self, kept: int = RENDERED_PAGES_KEPT) -> None:
        self.kept = kept
        self.pages: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, etag: str) -> tuple[str, bytes] | None:
        with self.lock:
            page = self.pages.get(etag)
            if page is not None:
                self.pages.move_to_end(etag)
            return page

    def put(self, etag: str, content_type: str, body: bytes) -> None:
        with self.lock:
            self.pages[etag] = (content_type, body)
            self.pages.move_to_end(etag)
            while len(self.pages) > self.kept:
                self.pages.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()


rendered_pages = RenderedPages()
