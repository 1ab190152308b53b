"""The operators' admin for todos (filter by owner id, search) and, read-only, the account states events set."""

from typing import Any

from django.contrib import admin
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.http import urlencode

from todos.models import AccountState, Todo


class OwnerIdFilter(admin.SimpleListFilter):
    """Filter by `?owner_id=`; offers only the chosen owner, since listing every owner would scan the table."""

    title = "owner id"
    parameter_name = "owner_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        owner_id = request.GET.get(self.parameter_name)
        return [(owner_id, owner_id)] if owner_id else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[Todo]) -> QuerySet[Todo]:
        if self.value():
            return queryset.filter(owner_id=self.value())
        return queryset


@admin.register(Todo)
class TodoAdmin(admin.ModelAdmin):
    """Todos of every owner; click an owner id to see only that owner's todos."""

    list_display = ["title", "owner", "completed", "due_date", "order", "updated_at"]
    list_filter = [OwnerIdFilter, "completed"]
    search_fields = ["title", "description", "=owner_id"]
    readonly_fields = ["id", "version", "created_at", "updated_at"]
    fields = ["id", "owner_id", "title", "description", "completed", "due_date", "order", "version"]
    ordering = ["owner_id", "order", "created_at", "id"]
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description="owner id", ordering="owner_id")
    def owner(self, todo: Todo) -> str:
        return format_html('<a href="?{}">{}</a>', urlencode({"owner_id": todo.owner_id}), todo.owner_id)

    def save_model(self, request: HttpRequest, obj: Todo, form: Any, change: bool) -> None:
        # An operator's edit is a write like any other: a new version, so clients' ETags see the change.
        if change:
            obj.version = F("version") + 1
        super().save_model(request, obj, form, change)
        obj.refresh_from_db(fields=["version"])


@admin.register(AccountState)
class AccountStateAdmin(admin.ModelAdmin):
    """What the auth service's events said of each user, read-only: only events change it (docs/events.md)."""

    list_display = ["owner_id", "status", "changed_at", "applied_at"]
    list_filter = ["status"]
    search_fields = ["=owner_id"]
    ordering = ["-applied_at"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AccountState | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AccountState | None = None) -> bool:
        return False
