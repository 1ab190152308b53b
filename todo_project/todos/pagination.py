"""Page-number pagination: `page` and `page_size` (at most 100), one COUNT query plus the page."""

from rest_framework.pagination import PageNumberPagination


class TodoPagination(PageNumberPagination):
    """`{count, next, previous, results}`; a page_size above 100 is served as 100."""

    page_size_query_param = "page_size"
    max_page_size = 100
