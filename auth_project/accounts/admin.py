"""The operators' admin for users: deleting a user or switching `is_active` records the event the todo service needs."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import User


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Django's user admin, with every delete and every change of `is_active` going through the services."""

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
