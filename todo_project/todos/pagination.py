"""Page-number pagination over a (count, rows) fetch: `page` from 1, and `page_size` from 1 to 100, strictly."""

from typing import Any

from django.core.paginator import Paginator
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from todos.links import absolute_url

# Far beyond any real list, and keeps OFFSET well inside a 64-bit integer.
MAX_PAGE_NUMBER = 1_000_000


def _bounded_integer(query_params: Any, name: str, *, default: int, maximum: int, errors: dict) -> int:
    """A decimal integer from 1 to maximum, as the schema says; anything else is an error for that name."""
    text = query_params.get(name)
    if text is None:
        return default
    if text.isascii() and text.isdigit() and 1 <= int(text) <= maximum:
        return int(text)
    errors[name] = [f"Must be an integer from 1 to {maximum}."]
    return default


class TodoPagination(PageNumberPagination):
    """`{count, next, previous, results}`; `page` and `page_size` out of their bounds are a 400."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def page_window(self, request: Request) -> tuple[int, int]:
        """The (limit, offset) the request asks for; an invalid page or page size is a 400 naming it."""
        self.request = request
        return self.window_of(request.query_params)

    def window_of(self, query_params: Any) -> tuple[int, int]:
        """The (limit, offset) these query parameters ask for; an invalid page or page size is a 400 naming it."""
        errors: dict[str, list[str]] = {}
        self.page_number = _bounded_integer(
            query_params, self.page_query_param, default=1, maximum=MAX_PAGE_NUMBER, errors=errors
        )
        self.page_size = _bounded_integer(
            query_params,
            self.page_size_query_param,
            default=self.page_size,
            maximum=self.max_page_size,
            errors=errors,
        )
        if errors:
            raise ValidationError(errors)
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

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "The page number; past the last page is a 404.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_NUMBER},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Todos per page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

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
