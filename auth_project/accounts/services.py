"""Writes of the auth service: accounts, login sessions, token rotation and revocation, and the events they record."""

import datetime
import logging
import uuid

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.events import USER_DEACTIVATED, USER_DELETED, USER_REACTIVATED, event_body
from accounts.exceptions import (
    InvalidCredentials,
    InvalidFields,
    LoginThrottled,
    SessionNotFound,
    TokenOfAnotherUser,
    TokenRejected,
)
from accounts.metrics import login_failures, token_refusals
from accounts.models import USER_AGENT_MAX_LENGTH, LoginSession, OutboxEvent, User
from accounts.throttling import login_failure_record, login_retry_after
from accounts.tokens import SESSION_CLAIM, RefreshToken
from config.tracing import traceparent_now

USERNAME_TAKEN = "A user with that username already exists."
EMAIL_TAKEN = "A user with that email address already exists."
REUSE_DETECTED = "Refresh token reuse detected; the session has been ended."
NO_ACTIVE_ACCOUNT = "No active account for this token."
SESSION_ENDED = "The session has ended; log in again."

logger = logging.getLogger(__name__)

ENDED_SESSION_RETENTION = datetime.timedelta(days=1)


def user_create(*, username: str, email: str, password: str) -> User:
    """Register a user after Django's password validators have accepted the password.

    The database's case-insensitive unique indexes decide; the checks before the insert only give the usual
    answer without a failed insert, and an IntegrityError says which one a racing registration took.
    """
    user = User(username=User.normalize_username(username), email=User.objects.normalize_email(email))
    errors: dict[str, list[str]] = {}
    if User.objects.filter(username__iexact=user.username).exists():
        errors["username"] = [USERNAME_TAKEN]
    if User.objects.filter(email__iexact=user.email).exists():
        errors["email"] = [EMAIL_TAKEN]
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise InvalidFields(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        if "email" in str(exc):
            raise InvalidFields({"email": [EMAIL_TAKEN]}) from exc
        raise InvalidFields({"username": [USERNAME_TAKEN]}) from exc
    return user


def _pair_in_session(*, user: User, session: LoginSession) -> dict[str, str]:
    refresh = RefreshToken.for_session(user=user, session_id=str(session.id))
    session.current_jti = refresh["jti"]
    session.expires_at = datetime_from_epoch(refresh["exp"])
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def token_pair_for_user(*, user: User, user_agent: str = "", client_ip: str | None = None) -> dict[str, str]:
    """Start a login session: a new refresh token (recorded as outstanding) and an access token made from it.

    The user's sessions that expired a day ago or more go at the same time, so the table holds about one row per
    live session, while a session that just ended stays visible in the admin for a while.
    """
    with transaction.atomic():
        # The account as the password check found it, or no login (as for a wrong password): a deletion, deactivation
        # or password change that committed during the check (the hash takes tens of milliseconds) would otherwise
        # find no session to end. One that comes later waits for this session, then ends it.
        if not _user_row_lock(user=user, exclusive=False, as_authenticated=True):
            raise InvalidCredentials()
        LoginSession.objects.filter(user=user, expires_at__lt=timezone.now() - ENDED_SESSION_RETENTION).delete()
        session = LoginSession(user=user, user_agent=user_agent[:USER_AGENT_MAX_LENGTH], client_ip=client_ip or None)
        pair = _pair_in_session(user=user, session=session)
        session.save()
    return pair


def token_pair_for_credentials(*, username: str, password: str, client_ip: str, user_agent: str = "") -> dict[str, str]:
    """Log in: refuse while a throttle budget is spent, and answer alike for every failure.

    The authentication backend (accounts.backends) counts the failure, as it does for the admin's login.
    """
    retry_after = login_retry_after(username=username, client_ip=client_ip)
    if retry_after is not None:
        login_failures.labels(reason="throttled").inc()
        raise LoginThrottled(retry_after=retry_after)
    # authenticate() hashes the password even for an unknown username, so both failures take as long.
    user = authenticate(username=username, password=password, client_ip=client_ip)
    if user is None:
        login_failures.labels(reason="invalid_credentials").inc()
        raise InvalidCredentials()
    return token_pair_for_user(user=user, user_agent=user_agent, client_ip=client_ip)


def _verified_refresh_token(raw_token: str) -> RefreshToken:
    try:
        return RefreshToken(raw_token)
    except TokenError as exc:
        # SimpleJWT's own message tells a blacklisted (reused or logged-out) token from a bad one.
        token_refusals.labels(reason="reused" if "blacklisted" in str(exc) else "invalid").inc()
        raise TokenRejected(str(exc)) from exc


def _session_id(token: RefreshToken) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(token[SESSION_CLAIM]))
    except (KeyError, ValueError) as exc:
        if SESSION_CLAIM in token.payload:
            raise TokenRejected("Token is invalid or expired.") from exc
        return None


def _user_row_lock(*, user: User, exclusive: bool, as_authenticated: bool = False) -> bool:
    """Order the logins, refreshes, logouts, password change, deactivation and deletion of one user, until the
    transaction ends; whether the user's row is still there (a concurrent deletion came first: no) and, with
    as_authenticated, still active with the password hash `user` was checked against.

    A password change ends every session of the user; a refresh or a login issues a new token. Refreshes, logins and
    logouts take a shared lock on the user's row and a password change, a deletion or an operator's save an exclusive
    one, so the change waits for the requests in flight (and then ends their sessions too) and later ones wait for the
    change (and then find their session ended). Taking the user's row first everywhere keeps the locks of the session
    rows and blacklisted tokens in one order. PostgreSQL checks the condition again on the row it waited for. SQLite
    has no row locks; its immediate transactions already run one writer at a time.
    """
    if connection.vendor != "postgresql":
        found = User.objects.filter(pk=user.pk)
        return (found.filter(is_active=True, password=user.password) if as_authenticated else found).exists()
    table = connection.ops.quote_name(User._meta.db_table)
    condition, parameters = "id = %s", [user.pk]
    if as_authenticated:
        condition, parameters = f"{condition} AND is_active AND password = %s", [user.pk, user.password]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE {condition} FOR {'UPDATE' if exclusive else 'SHARE'}",  # noqa: S608
            parameters,
        )
        return cursor.fetchone() is not None


def token_refresh(*, refresh: str) -> dict[str, str]:
    """Rotate a refresh token within its session; a token already rotated, presented again, ends the session.

    The session's row is locked while it is read and rotated, so of two refreshes racing with one token the
    second sees the first's new token as current and ends the session (RFC 9700 4.14.2).
    """
    token = _verified_refresh_token(refresh)
    user_id = token.get("sub")
    if not str(user_id).isdigit():
        token_refusals.labels(reason="no_account").inc()
        raise TokenRejected(NO_ACTIVE_ACCOUNT)
    session_id = _session_id(token)
    with transaction.atomic():
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None or not _user_row_lock(user=user, exclusive=False):
            token_refusals.labels(reason="no_account").inc()
            raise TokenRejected(NO_ACTIVE_ACCOUNT)
        if session_id is None:
            # A token from before sessions existed: refused once used, as then; its successor starts a session.
            _, created = token.blacklist()
            if not created:
                token_refusals.labels(reason="reused").inc()
                raise TokenRejected("Token is blacklisted")
            return token_pair_for_user(user=user)
        session = LoginSession.objects.select_for_update().filter(pk=session_id, user=user).first()
        if session is None or session.revoked_at is not None or session.expires_at <= timezone.now():
            token_refusals.labels(reason="session_ended").inc()
            raise TokenRejected(SESSION_ENDED)
        reused = session.current_jti != token["jti"]
        if reused:
            # Committed before the 401 below: the thief's and the victim's tokens both stop working.
            session.revoked_at = timezone.now()
            session.revoked_reason = LoginSession.REVOKED_REUSE
            session.save(update_fields=["revoked_at", "revoked_reason"])
        else:
            pair = _pair_in_session(user=user, session=session)
            session.last_refreshed_at = timezone.now()
            session.save(update_fields=["current_jti", "expires_at", "last_refreshed_at"])
    if reused:
        token_refusals.labels(reason="reused").inc()
        logger.warning("refresh token reuse ended a session", extra={"session_id": str(session_id), "user_id": user.pk})
        raise TokenRejected(REUSE_DETECTED)
    return pair


def token_revoke(*, user: User, refresh: str) -> None:
    """Log out: blacklist the caller's refresh token and end its session."""
    token = _verified_refresh_token(refresh)
    if token.get("sub") != str(user.pk):
        raise TokenOfAnotherUser()
    session_id = _session_id(token)
    with transaction.atomic():
        # The user's row first, as a password change and a deactivation take it before the sessions and tokens.
        _user_row_lock(user=user, exclusive=False)
        token.blacklist()
        if session_id is not None:
            _sessions_end(LoginSession.objects.filter(pk=session_id, user=user), reason=LoginSession.REVOKED_LOGOUT)


def _sessions_end(sessions: QuerySet[LoginSession], *, reason: str) -> int:
    return sessions.filter(revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_reason=reason)


def login_session_end(*, user_id: int, session_id: uuid.UUID) -> None:
    """End one live session of the user (its refresh tokens stop working); another user's is not found."""
    ended = _sessions_end(
        LoginSession.objects.filter(pk=session_id, user_id=user_id, expires_at__gt=timezone.now()),
        reason=LoginSession.REVOKED_USER,
    )
    if not ended:
        raise SessionNotFound()


def login_sessions_end_by_operator(*, sessions: QuerySet[LoginSession]) -> int:
    """End sessions from the admin."""
    return _sessions_end(sessions, reason=LoginSession.REVOKED_OPERATOR)


def _password_check(*, user: User, password: str, client_ip: str, field: str, message: str) -> None:
    """A wrong password of a signed-in user spends the login budgets, so a stolen access token buys no guesses."""
    retry_after = login_retry_after(username=user.get_username(), client_ip=client_ip)
    if retry_after is not None:
        raise LoginThrottled(retry_after=retry_after)
    if not user.check_password(password):
        login_failure_record(username=user.get_username(), client_ip=client_ip)
        raise InvalidFields({field: [message]})


def user_password_change(*, user: User, old_password: str, new_password: str, client_ip: str) -> None:
    """Change the password and end every session of the user."""
    _password_check(
        user=user,
        password=old_password,
        client_ip=client_ip,
        field="old_password",
        message="The old password is wrong.",
    )
    try:
        validate_password(new_password, user=user)
    except DjangoValidationError as exc:
        raise InvalidFields({"new_password": list(exc.messages)}) from exc
    with transaction.atomic():
        if not _user_row_lock(user=user, exclusive=True):
            raise TokenRejected(NO_ACTIVE_ACCOUNT)  # deleted by a request that came first
        user.set_password(new_password)
        user.save(update_fields=["password"])
        _every_session_end(user=user, reason=LoginSession.REVOKED_PASSWORD)


def _every_session_end(*, user: User, reason: str) -> None:
    """End every session of the user and refuse every refresh token it holds (those from before sessions too)."""
    _sessions_end(LoginSession.objects.filter(user=user), reason=reason)
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
        # Waits for logins and refreshes in flight, as a password change does, so none issues a token after the delete.
        if not _user_row_lock(user=user, exclusive=True):
            return  # a concurrent request deleted it first, and recorded the event
        outbox_event_record(event_type=USER_DELETED, user_id=user.pk)
        user.delete()


def user_delete_own(*, user: User, password: str, client_ip: str) -> None:
    """A user deletes their own account, after proving it with their password."""
    _password_check(
        user=user, password=password, client_ip=client_ip, field="password", message="The password is wrong."
    )
    user_delete(user=user)


def user_active_changed(*, user: User) -> None:
    """Record that an operator switched `is_active`; call it in the transaction that saved the change.

    A deactivation also ends every session of the user, as a password change does: a refresh token taken before the
    account was locked must not work again once it is unlocked (the todo service already refuses older access tokens).
    """
    if not user.is_active:
        _every_session_end(user=user, reason=LoginSession.REVOKED_DEACTIVATED)
    outbox_event_record(event_type=USER_REACTIVATED if user.is_active else USER_DEACTIVATED, user_id=user.pk)
