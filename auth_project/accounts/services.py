"""Writes of the auth service: accounts, logins, token rotation and revocation, and the events they record."""

import uuid

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.events import USER_DEACTIVATED, USER_DELETED, USER_REACTIVATED, event_body
from accounts.exceptions import InvalidCredentials, LoginThrottled, TokenRejected
from accounts.metrics import login_failures, token_refusals
from accounts.models import OutboxEvent, User
from accounts.throttling import login_failure_record, login_retry_after
from accounts.tokens import RefreshToken
from config.tracing import traceparent_now

USERNAME_TAKEN = "A user with that username already exists."


def user_create(*, username: str, email: str, password: str) -> User:
    """Register a user after Django's password validators have accepted the password."""
    user = User(username=User.normalize_username(username), email=User.objects.normalize_email(email))
    errors: dict[str, list[str]] = {}
    if User.objects.filter(username__iexact=user.username).exists():
        errors["username"] = [USERNAME_TAKEN]
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Two registrations of one name raced past the check above.
        raise ValidationError({"username": [USERNAME_TAKEN]}) from exc
    return user


def token_pair_for_user(*, user: User) -> dict[str, str]:
    """A new refresh token (recorded as outstanding) and an access token made from it."""
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def token_pair_for_credentials(*, request: HttpRequest, username: str, password: str) -> dict[str, str]:
    """Log in: refuse while a throttle budget is spent, count failures, and answer alike for every failure."""
    retry_after = login_retry_after(request=request, username=username)
    if retry_after is not None:
        login_failures.labels(reason="throttled").inc()
        raise LoginThrottled(wait=retry_after)
    # authenticate() hashes the password even for an unknown username, so both failures take as long.
    user = authenticate(request, username=username, password=password)
    if user is None:
        login_failure_record(request=request, username=username)
        login_failures.labels(reason="invalid_credentials").inc()
        raise InvalidCredentials()
    return token_pair_for_user(user=user)


def _verified_refresh_token(raw_token: str) -> RefreshToken:
    try:
        return RefreshToken(raw_token)
    except TokenError as exc:
        # SimpleJWT's own message tells a blacklisted (reused or logged-out) token from a bad one.
        token_refusals.labels(reason="reused" if "blacklisted" in str(exc) else "invalid").inc()
        raise TokenRejected(str(exc)) from exc


def _user_row_lock(*, user: User, exclusive: bool) -> None:
    """Order refreshes and a password change of one user, until the transaction ends.

    A password change blacklists every refresh token of the user; a refresh issues a new one. Refreshes take
    a shared lock on the user's row and a password change an exclusive one, so the change waits for the
    refreshes in flight (and then blacklists their new tokens too) and later refreshes wait for the change
    (and then find their token blacklisted), while refreshes never wait for each other. SQLite has no row
    locks; its immediate transactions already run one writer at a time.
    """
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(User._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE id = %s FOR {'UPDATE' if exclusive else 'SHARE'}",  # noqa: S608
            [user.pk],
        )


def token_refresh(*, refresh: str) -> dict[str, str]:
    """Trade a refresh token for a new pair; the used one is blacklisted, and using it again is refused."""
    token = _verified_refresh_token(refresh)
    user_id = token.get("sub")
    if not str(user_id).isdigit():
        token_refusals.labels(reason="no_account").inc()
        raise TokenRejected("No active account for this token.")
    with transaction.atomic():
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            token_refusals.labels(reason="no_account").inc()
            raise TokenRejected("No active account for this token.")
        _user_row_lock(user=user, exclusive=False)
        # The blacklist row is unique per token: of two concurrent refreshes with one token, only one creates it.
        _, created = token.blacklist()
        if not created:
            token_refusals.labels(reason="reused").inc()
            raise TokenRejected("Token is blacklisted")
        return token_pair_for_user(user=user)


def token_revoke(*, user: User, refresh: str) -> None:
    """Log out: blacklist the caller's refresh token."""
    token = _verified_refresh_token(refresh)
    if token.get("sub") != str(user.pk):
        raise PermissionDenied("This refresh token was issued to another user.")
    token.blacklist()


def user_password_change(*, user: User, old_password: str, new_password: str) -> None:
    """Change the password and blacklist every refresh token of the user, signing out all sessions."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": ["The old password is wrong."]})
    try:
        validate_password(new_password, user=user)
    except DjangoValidationError as exc:
        raise ValidationError({"new_password": list(exc.messages)}) from exc
    with transaction.atomic():
        _user_row_lock(user=user, exclusive=True)
        user.set_password(new_password)
        user.save(update_fields=["password"])
        outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
        BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
        )


def outbox_event_record(*, event_type: str, user_id: int) -> OutboxEvent:
    """Record an event for the relay to publish; call it inside the transaction of the change it reports."""
    if not connection.in_atomic_block:
        raise RuntimeError("an outbox event must be written in the transaction of its change")
    event_id = uuid.uuid4()
    occurred_at = timezone.now()
    return OutboxEvent.objects.create(
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        payload=event_body(event_id=event_id, event_type=event_type, occurred_at=occurred_at, user_id=user_id),
        trace_parent=traceparent_now(),
    )


def user_delete(*, user: User) -> None:
    """Delete an account and record `user.deleted` in the same transaction, so the todo service learns of it."""
    with transaction.atomic():
        # Waits for refreshes in flight, as a password change does, so none issues a token after the delete.
        _user_row_lock(user=user, exclusive=True)
        if not User.objects.filter(pk=user.pk).exists():
            return  # a concurrent request deleted it first, and recorded the event
        outbox_event_record(event_type=USER_DELETED, user_id=user.pk)
        user.delete()


def user_delete_own(*, user: User, password: str) -> None:
    """A user deletes their own account, after proving it with their password."""
    if not user.check_password(password):
        raise ValidationError({"password": ["The password is wrong."]})
    user_delete(user=user)


def user_active_changed(*, user: User) -> None:
    """Record that an operator switched `is_active`; call it in the transaction that saved the change."""
    outbox_event_record(event_type=USER_REACTIVATED if user.is_active else USER_DEACTIVATED, user_id=user.pk)
