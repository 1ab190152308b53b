"""Thin API views: parse the request, call one selector or service, render."""

from http import HTTPStatus
from typing import Any
from uuid import UUID

from django.http import HttpResponse, HttpResponseNotModified
from django.http.response import HttpResponseBase
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todos import conditional, idempotency, selectors, services
from todos.browser import ListFilterForm
from todos.exceptions import TodoNotFound, TodoVersionMismatch
from todos.filters import MAX_SEARCH_LENGTH, ORDERING_FIELDS, ORDERING_PATTERN, todo_filters_from_query
from todos.links import absolute_url
from todos.models import Todo
from todos.serializers import TodoSerializer, todo_row_representation

# Defaults a PUT falls back to for the optional fields it leaves out: PUT replaces the whole todo.
PUT_DEFAULTS = services.OPTIONAL_FIELD_DEFAULTS

LIST_PARAMETERS = [
    OpenApiParameter(
        "completed",
        {"type": "string", "enum": ["true", "false", ""]},
        description="Only done (`true`) or open (`false`) todos; empty: both.",
    ),
    OpenApiParameter(
        "search",
        {"type": "string", "maxLength": MAX_SEARCH_LENGTH, "pattern": "^[^\\u0000]*$"},
        description="Case-insensitive match in title or description.",
    ),
    OpenApiParameter(
        "ordering",
        {"type": "string", "pattern": ORDERING_PATTERN},
        description=f"Comma-separated among {', '.join(ORDERING_FIELDS)}; prefix - for descending. "
        "Default: order, created_at (ties broken by id).",
    ),
]
FILTER_QUERY = ("completed", "search")
LIST_QUERY = (*FILTER_QUERY, "ordering", "page", "page_size")
BULK_DELETE_QUERY = FILTER_QUERY
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="Write only if the todo still has this ETag."
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="304 when the todo still has this ETag."
)
IF_NONE_MATCH_WRITE = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Write only if the todo's ETag is none of these (weak comparison); `*`: never, the todo exists.",
)
IF_NONE_MATCH_LIST = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="304 when this page (same filters, ordering and page) still has this ETag: none of the caller's "
    "todos changed since.",
)
LIST_ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 304],
    description="The page's ETag: it changes whenever any of the caller's todos changes.",
)
ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
STALE = OpenApiResponse(
    ERROR,
    description="If-Match does not match the todo's current ETag, or If-None-Match does; nothing changed.",
)
# The detail of a 412 from If-None-Match (TodoVersionMismatch's default speaks of If-Match).
NONE_MATCH_FAILED = "The todo has an ETag that If-None-Match names. Nothing was changed."
NOT_FOUND = OpenApiResponse(ERROR, description="No such todo among the caller's.")


def etag_matches(header: str | None, etag: str, *, weak: bool) -> bool:
    """RFC 9110 comparison of an If-Match (strong) or If-None-Match (weak) header against a todo's or a page's ETag."""
    tags = parse_etags(header or "")
    if tags == ["*"]:
        return True
    if weak:
        return etag in {tag.removeprefix("W/") for tag in tags}
    return etag in tags


def _expected_version(request: Request, todo: Todo | None) -> int | None:
    """The version a conditional write requires, or None when the request has no If-Match."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    if todo is None:
        raise TodoNotFound
    if not etag_matches(header, todo.etag, weak=False):
        raise TodoVersionMismatch
    return todo.version


class TodoApi(GenericAPIView):
    """Shared by the todo views: the serializer context and the refusal of a body without a content type."""

    serializer_class = TodoSerializer
    # Per method, the query parameters the view takes; any other is a 400 (config.guards).
    query_parameters: dict[str, tuple[str, ...]] = {}

    def perform_authentication(self, request: Request) -> None:
        # An unknown method is a 405 with Allow (after content negotiation), not a 401 for a caller without a token.
        if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
            self.http_method_not_allowed(request)
        super().perform_authentication(request)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Without this, DRF would read a body with no Content-Type as empty instead of refusing it.
        if request.method in ("POST", "PUT", "PATCH") and not request.content_type and request.stream is not None:
            raise UnsupportedMediaType(media_type="")

    def get_queryset(self) -> Any:
        """The caller's todos; only the browsable API asks (the views read through todos.selectors)."""
        return Todo.objects.filter(owner_id=self.request.user.id)

    def todos_base_url(self) -> str:
        return absolute_url(self.request, "/todos/")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "todos_base_url": self.todos_base_url()}

    def render_todo(self, todo: Todo, status_code: int = status.HTTP_200_OK) -> Response:
        response = Response(self.get_serializer(todo).data, status=status_code)
        response["ETag"] = todo.etag
        return response


class TodoListApi(TodoApi):
    """The caller's todos: list, create, and delete those matching the list filters."""

    name = "Todos"
    query_parameters = {"GET": LIST_QUERY, "HEAD": LIST_QUERY, "DELETE": BULK_DELETE_QUERY}
    filter_backends = [ListFilterForm]
    ordering_fields = ORDERING_FIELDS

    @extend_schema(
        operation_id="todos_list",
        parameters=[*LIST_PARAMETERS, IF_NONE_MATCH_LIST, LIST_ETAG],
        summary="List the caller's todos",
        responses={
            200: TodoSerializer(many=True),
            304: OpenApiResponse(description="Not modified: none of the caller's todos changed since that ETag."),
            404: OpenApiResponse(ERROR, description="Past the last page."),
        },
    )
    def get(self, request: Request) -> HttpResponseBase:
        filters = todo_filters_from_query(request.query_params)
        limit, offset = self.paginator.page_window(request)
        owner_id, base_url = request.user.id, self.todos_base_url()
        # The stamp is read before the page: a page is never older than the ETag it is sent (or cached) under.
        etag = conditional.list_etag(
            owner_id=owner_id,
            stamp=self.list_stamp(request),
            filters=filters,
            limit=limit,
            offset=offset,
            base_url=base_url,
            media_type=request.accepted_media_type,
        )
        if etag_matches(request.headers.get("If-None-Match"), etag, weak=True):
            # No body to render: Django's own 304 skips DRF's rendering of an empty one.
            return HttpResponseNotModified(headers={"ETag": etag})
        cacheable = conditional.rendered_pages.enabled and type(request.accepted_renderer) is JSONRenderer
        # Keyed by the query as sent too: two spellings of one page share the ETag, not their next and previous links.
        page_key = f"{etag} {request.META.get('QUERY_STRING', '')}"
        cached = conditional.rendered_pages.get(page_key) if cacheable else None
        if cached is not None:
            content_type, body = cached
            return HttpResponse(body, content_type=content_type, headers={"ETag": etag})
        count, rows = selectors.todo_list_page(owner_id=owner_id, filters=filters, limit=limit, offset=offset)
        results = [todo_row_representation(row, base_url=base_url) for row in rows]
        response = self.paginator.paginated_response(count=count, results=results)
        response["ETag"] = etag
        if cacheable:
            response.add_post_render_callback(
                lambda rendered: conditional.rendered_pages.put(page_key, rendered["Content-Type"], rendered.content)
            )
        return response

    def list_stamp(self, request: Request) -> str:
        """The caller's list stamp: read by the token check in its query when a bearer token authenticated."""
        stamp = getattr(request.user, "list_stamp", None)
        return stamp if isinstance(stamp, str) else selectors.todo_list_stamp(owner_id=request.user.id)

    @extend_schema(
        operation_id="todos_create",
        summary="Create a todo",
        parameters=[idempotency.PARAMETER],
        responses={201: TodoSerializer, **idempotency.RESPONSES},
    )
    @idempotency.idempotent
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        todo = services.todo_create(owner_id=request.user.id, **serializer.validated_data)
        response = self.render_todo(todo, status.HTTP_201_CREATED)
        response["Location"] = response.data["url"]
        return response

    @extend_schema(
        operation_id="todos_bulk_destroy",
        parameters=[
            *(parameter for parameter in LIST_PARAMETERS if parameter.name in BULK_DELETE_QUERY),
            idempotency.PARAMETER,
        ],
        summary="Delete the caller's todos that match the filters (?completed=true clears the done ones)",
        responses={204: None, **idempotency.RESPONSES},
    )
    @idempotency.idempotent
    def delete(self, request: Request) -> Response:
        filters = todo_filters_from_query(request.query_params)
        services.todo_bulk_delete(owner_id=request.user.id, filters=filters)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TodoDetailApi(TodoApi):
    """One of the caller's todos; another owner's todo is 404 like an unknown id, never 403."""

    name = "Todo"
    # For DRF's own get_object (OPTIONS and the browsable API's forms); the handlers read through get_todo.
    lookup_field = "id"
    lookup_url_kwarg = "todo_id"

    def get_todo(self, todo_id: UUID) -> Todo:
        todo = selectors.todo_get(owner_id=self.request.user.id, todo_id=todo_id)
        if todo is None:
            raise TodoNotFound
        return todo

    @extend_schema(
        operation_id="todos_retrieve",
        parameters=[IF_NONE_MATCH],
        summary="Get a todo",
        responses={200: TodoSerializer, 304: OpenApiResponse(description="Not modified."), 404: NOT_FOUND},
    )
    def get(self, request: Request, todo_id: UUID) -> Response:
        todo = self.get_todo(todo_id)
        if etag_matches(request.headers.get("If-None-Match"), todo.etag, weak=True):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": todo.etag})
        return self.render_todo(todo)

    @extend_schema(
        operation_id="todos_update",
        parameters=[IF_MATCH, IF_NONE_MATCH_WRITE, idempotency.PARAMETER],
        summary="Replace a todo (left-out optional fields go back to their defaults)",
        responses={200: TodoSerializer, 404: NOT_FOUND, 412: STALE, **idempotency.RESPONSES},
    )
    @idempotency.idempotent
    def put(self, request: Request, todo_id: UUID) -> Response:
        return self._update(request, todo_id, partial=False)

    @extend_schema(
        operation_id="todos_partial_update",
        parameters=[IF_MATCH, IF_NONE_MATCH_WRITE, idempotency.PARAMETER],
        summary="Update part of a todo",
        responses={200: TodoSerializer, 404: NOT_FOUND, 412: STALE, **idempotency.RESPONSES},
    )
    @idempotency.idempotent
    def patch(self, request: Request, todo_id: UUID) -> Response:
        return self._update(request, todo_id, partial=True)

    @extend_schema(
        operation_id="todos_destroy",
        parameters=[IF_MATCH, IF_NONE_MATCH_WRITE, idempotency.PARAMETER],
        summary="Delete a todo",
        responses={204: None, 404: NOT_FOUND, 412: STALE, **idempotency.RESPONSES},
    )
    @idempotency.idempotent
    def delete(self, request: Request, todo_id: UUID) -> Response:
        expected_version = self._precondition(request, todo_id)
        services.todo_delete(owner_id=request.user.id, todo_id=todo_id, expected_version=expected_version)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _precondition(self, request: Request, todo_id: UUID) -> int | None:
        """404 and 412 come before input validation; the service re-checks the version under a row lock.

        If-None-Match (RFC 9110 13.1.2) is false when the todo's ETag is among its tags or it is `*`: a 412. When it
        holds, the write is pinned to the version it was judged on, so a write landing in between makes it a 412 too,
        never a write the condition was not evaluated for."""
        if_none_match = request.headers.get("If-None-Match")
        if request.headers.get("If-Match") is None and if_none_match is None:
            return None
        todo = selectors.todo_get(owner_id=request.user.id, todo_id=todo_id)
        expected_version = _expected_version(request, todo)
        if if_none_match is None:
            return expected_version
        if todo is None:
            raise TodoNotFound
        if etag_matches(if_none_match, todo.etag, weak=True):
            raise TodoVersionMismatch(NONE_MATCH_FAILED)
        return todo.version

    def _update(self, request: Request, todo_id: UUID, *, partial: bool) -> Response:
        expected_version = self._precondition(request, todo_id)
        serializer = self.get_serializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        changes = serializer.validated_data if partial else {**PUT_DEFAULTS, **serializer.validated_data}
        todo = services.todo_update(
            owner_id=request.user.id, todo_id=todo_id, changes=changes, expected_version=expected_version
        )
        return self.render_todo(todo)


class HealthApi(APIView):
    """Readiness: the database answers a trivial query."""

    name = "Health"
    authentication_classes: list = []
    permission_classes: list = []
    query_parameters: dict[str, tuple[str, ...]] = {}

    @extend_schema(
        operation_id="todos_health",
        summary="Readiness: the database answers",
        responses={
            200: inline_serializer("Health", {"status": serializers.CharField()}),
            503: inline_serializer("Unhealthy", {"status": serializers.CharField(), "detail": serializers.CharField()}),
        },
    )
    def get(self, request: Request) -> Response:
        if selectors.database_is_ready():
            return Response({"status": "ok"})
        return Response(
            {"status": "unavailable", "detail": "The database does not answer."},
            status=HTTPStatus.SERVICE_UNAVAILABLE,
        )
