"""Page-number pagination over a (count, rows) fetch: `page`, and `page_size` up to 100."""

from typing import Any

from django.core.paginator import Paginator
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from todos.links import absolute_url

# Far beyond any real list, and keeps OFFSET well inside a 64-bit integer.
MAX_PAGE_NUMBER = 1_000_000


class TodoPagination(PageNumberPagination):
    """`{count, next, previous, results}`; a page_size above 100 is served as 100, an invalid one as 20."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def page_window(self, request: Request) -> tuple[int, int]:
        """The (limit, offset) the request asks for; an invalid page number is a 404."""
        self.request = request
        self.page_size = self.get_page_size(request)
        try:
            self.page_number = int(request.query_params.get(self.page_query_param, "1"))
        except ValueError:
            self.page_number = 0
        if not 1 <= self.page_number <= MAX_PAGE_NUMBER:
            raise NotFound("Invalid page.")
        return self.page_size, (self.page_number - 1) * self.page_size

    def paginated_response(self, *, count: int, results: list[Any]) -> Response:
        """The page; past the last page (and only there) an empty result is a 404, as an invalid page."""
        if not results and self.page_number > 1:
            raise NotFound("Invalid page.")
        self.count = count
        self.display_page_controls = True
        return Response(
            {
                "count": count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": results,
            }
        )

    def get_html_context(self) -> dict[str, Any]:
        """The browsable API's page links; a Paginator over a range stands in for the page the SQL fetched."""
        self.page = Paginator(range(self.count), self.page_size).page(self.page_number)
        return super().get_html_context()

    def get_next_link(self) -> str | None:
        if self.page_number * self.page_size >= self.count:
            return None
        return replace_query_param(absolute_url(self.request), self.page_query_param, self.page_number + 1)

    def get_previous_link(self) -> str | None:
        if self.page_number == 1:
            return None
        url = absolute_url(self.request)
        if self.page_number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.page_number - 1)
