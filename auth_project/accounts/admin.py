"""The operators' admin: users (deletes and `is_active` changes record events), login sessions, and the outbox."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import LoginSession, OutboxEvent, User


class AccountChangeForm(UserChangeForm):
    """Django's form, refusing an email another account has in any case (the database would, with a 500)."""

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if email and User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(services.EMAIL_TAKEN)
        return email


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Django's user admin, with every delete and every change of `is_active` going through the services."""

    form = AccountChangeForm

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        # The admin saves inside one transaction, so the event commits with the change or not at all.
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data:
            services.user_active_changed(user=obj)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        services.user_delete(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with transaction.atomic():
            for user in queryset:
                services.user_delete(user=user)


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    """The outbox, read-only: what waits for the relay and what it sent (docs/events.md)."""

    list_display = ["event_type", "event_id", "occurred_at", "sent_at"]
    list_filter = ["event_type", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["=event_id"]
    ordering = ["-id"]
    readonly_fields = ["event_id", "event_type", "payload", "occurred_at", "sent_at"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxEvent | None = None) -> bool:
        # An unsent event deleted by hand would never reach the todo service; the relay prunes sent ones itself.
        return False


@admin.register(LoginSession)
class LoginSessionAdmin(admin.ModelAdmin):
    """Login sessions (token families), read-only; an operator ends them with the list's action."""

    list_display = ["id", "user", "created_at", "last_refreshed_at", "client_ip", "revoked_at", "revoked_reason"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "revoked_reason"]
    search_fields = ["=id", "user__username"]
    ordering = ["-created_at"]
    readonly_fields = [
        "id", "user", "created_at", "last_refreshed_at", "expires_at", "user_agent", "client_ip",
        "revoked_at", "revoked_reason", "current_jti",
    ]  # fmt: skip
    actions = ["end_sessions"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LoginSession | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: LoginSession | None = None) -> bool:
        # Ending keeps the row, so operators can still see when and why a session ended.
        return False

    @admin.action(description="End the selected sessions")
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[LoginSession]) -> None:
        ended = services.login_sessions_end_by_operator(sessions=queryset)
        self.message_user(request, f"Ended {ended} session(s).")
