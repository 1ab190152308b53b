"""The user model (Django's own, swappable from the first migration), login sessions and the outbox of events."""

import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower


class AccountManager(UserManager):
    """Looks a username up as every entry point normalises it: NFKC, then case-insensitively."""

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(username__iexact=User.normalize_username(username or ""))


class User(AbstractUser):
    """A person who registers and signs in; `id` is the token's `sub`."""

    email = models.EmailField("email address")

    objects = AccountManager()

    class Meta(AbstractUser.Meta):
        constraints = [
            # The database, not a check before the insert, keeps `Alice` and `alice` one account: two racing
            # registrations cannot both pass (docs/architecture.md, "Accounts").
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            # An account an operator adds in the admin starts without an email.
            models.UniqueConstraint(Lower("email"), condition=~models.Q(email=""), name="user_email_ci_unique"),
        ]


# Longer user agents are cut: the field is for recognising a device, not for forensics.
USER_AGENT_MAX_LENGTH = 512


class LoginSession(models.Model):
    """One login and the refresh tokens rotated from it (a token family, RFC 9700 4.14.2).

    `current_jti` names the only refresh token of the family that may still be used; presenting any older one
    means it was stolen or replayed, and revokes the whole family.
    """

    REVOKED_LOGOUT = "logout"
    REVOKED_REUSE = "reuse"
    REVOKED_PASSWORD = "password change"  # noqa: S105 - a reason, not a password
    REVOKED_USER = "ended by user"
    REVOKED_OPERATOR = "ended by operator"
    REVOKED_DEACTIVATED = "account deactivated"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    current_jti = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"], name="session_user_live_idx")]

    def __str__(self) -> str:
        return f"session {self.id} of user {self.user_id}"


class OutboxEvent(models.Model):
    """An integration event, written in the transaction of the change it reports; the relay publishes it."""

    # The auto-increment id orders publishing; event_id is the event's identity on the wire.
    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    occurred_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # The W3C traceparent of the request that recorded the event: the relay publishes it in the message's headers,
    # so the consumer's handling continues the request's trace (docs/observability.md).
    trace_parent = models.CharField(max_length=55, blank=True, default="")

    class Meta:
        indexes = [
            # The relay reads only unsent rows, in id order; sent rows are only pruned by age.
            models.Index(fields=["id"], condition=models.Q(sent_at__isnull=True), name="outbox_unsent_idx"),
            models.Index(fields=["sent_at"], condition=models.Q(sent_at__isnull=False), name="outbox_sent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
