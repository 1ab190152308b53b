"""Login sessions (refresh-token families): rotation, reuse detection, logout, password change, the sessions API."""

import threading
import uuid
from datetime import timedelta
from http import HTTPStatus

import jwt
import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.exceptions import InvalidCredentials, TokenRejected
from accounts.models import LoginSession, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def refresh(client: APIClient, token: str):
    return client.post("/auth/refresh/", {"refresh": token}, format="json")


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def log_in(client: APIClient, username: str = "alice", **extra) -> dict[str, str]:
    response = client.post("/auth/login/", {"username": username, "password": PASSWORD}, format="json", **extra)
    assert response.status_code == HTTPStatus.OK
    return response.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_a_login_starts_a_session_that_both_tokens_name(api_client, user):
    pair = log_in(api_client, HTTP_USER_AGENT="curl/8.0")

    session = LoginSession.objects.get()
    assert claims(pair["refresh"])["sid"] == claims(pair["access"])["sid"] == str(session.id)
    assert session.user_agent == "curl/8.0"
    assert session.client_ip == "127.0.0.1"


def test_a_reused_refresh_token_ends_the_session_and_its_newest_token_too(api_client, token_pair):
    stolen = token_pair["refresh"]
    newest = refresh(api_client, stolen).json()["refresh"]

    reuse = refresh(api_client, stolen)

    assert reuse.status_code == HTTPStatus.UNAUTHORIZED
    assert "reuse" in reuse.json()["detail"]
    assert refresh(api_client, newest).status_code == HTTPStatus.UNAUTHORIZED
    assert LoginSession.objects.get().revoked_reason == LoginSession.REVOKED_REUSE


def test_reuse_ends_only_its_own_session(api_client, user, token_pair):
    other_session = services.token_pair_for_user(user=user)
    refresh(api_client, token_pair["refresh"])

    refresh(api_client, token_pair["refresh"])

    assert refresh(api_client, other_session["refresh"]).status_code == HTTPStatus.OK


def test_a_session_survives_many_rotations(api_client, token_pair):
    token = token_pair["refresh"]
    for _ in range(5):
        response = refresh(api_client, token)
        assert response.status_code == HTTPStatus.OK
        token = response.json()["refresh"]

    session = LoginSession.objects.get()
    assert session.revoked_at is None
    assert session.last_refreshed_at is not None


def test_logout_ends_the_session_for_every_token_of_it(api_client, token_pair):
    rotated = refresh(api_client, token_pair["refresh"]).json()

    response = bearer(rotated["access"]).post("/auth/logout/", {"refresh": rotated["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert LoginSession.objects.get().revoked_reason == LoginSession.REVOKED_LOGOUT
    assert refresh(api_client, rotated["refresh"]).status_code == HTTPStatus.UNAUTHORIZED


def test_a_password_change_ends_every_session_of_the_user(api_client, user, token_pair):
    other = services.token_pair_for_user(user=user)

    response = bearer(token_pair["access"]).post(
        "/auth/password/", {"old_password": PASSWORD, "new_password": "a brand new passphrase"}, format="json"
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not LoginSession.objects.filter(revoked_at__isnull=True).exists()
    assert refresh(api_client, other["refresh"]).status_code == HTTPStatus.UNAUTHORIZED


def test_sessions_lists_the_callers_live_sessions_and_marks_the_current_one(api_client, user):
    first = log_in(api_client, HTTP_USER_AGENT="laptop")
    second = log_in(api_client, HTTP_USER_AGENT="phone")
    ended = log_in(api_client)
    bearer(ended["access"]).post("/auth/logout/", {"refresh": ended["refresh"]}, format="json")
    bob = User.objects.create_user(username="bob", email="bob@example.com", password=PASSWORD)
    services.token_pair_for_user(user=bob)

    response = bearer(second["access"]).get("/auth/sessions/")

    assert response.status_code == HTTPStatus.OK
    sessions = response.json()
    assert [session["user_agent"] for session in sessions] == ["phone", "laptop"]
    assert [session["current"] for session in sessions] == [True, False]
    assert sessions[1]["id"] == claims(first["refresh"])["sid"]
    assert set(sessions[0]) == {
        "id",
        "created_at",
        "last_refreshed_at",
        "expires_at",
        "user_agent",
        "client_ip",
        "current",
    }


def test_ending_a_session_stops_its_refresh_tokens(api_client, user):
    phone = log_in(api_client)
    laptop = log_in(api_client)

    response = bearer(laptop["access"]).delete(f"/auth/sessions/{claims(phone['refresh'])['sid']}/")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert refresh(api_client, phone["refresh"]).status_code == HTTPStatus.UNAUTHORIZED
    assert refresh(api_client, laptop["refresh"]).status_code == HTTPStatus.OK


def test_a_session_id_in_upper_case_names_the_same_session(api_client, user):
    phone = log_in(api_client)
    laptop = log_in(api_client)

    response = bearer(laptop["access"]).delete(f"/auth/sessions/{claims(phone['refresh'])['sid'].upper()}")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert refresh(api_client, phone["refresh"]).status_code == HTTPStatus.UNAUTHORIZED


def test_ending_another_users_or_an_unknown_session_is_404(api_client, user):
    bob = User.objects.create_user(username="bob", email="bob@example.com", password=PASSWORD)
    bobs = services.token_pair_for_user(user=bob)
    mine = log_in(api_client)

    for session_id in (claims(bobs["refresh"])["sid"], str(uuid.uuid4())):
        response = bearer(mine["access"]).delete(f"/auth/sessions/{session_id}/")
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert response.json() == {"detail": "No such session."}
    assert refresh(api_client, bobs["refresh"]).status_code == HTTPStatus.OK


def test_ending_an_already_ended_session_is_404(api_client, user):
    pair = log_in(api_client)
    path = f"/auth/sessions/{claims(pair['refresh'])['sid']}/"
    assert bearer(pair["access"]).delete(path).status_code == HTTPStatus.NO_CONTENT

    assert bearer(pair["access"]).delete(path).status_code == HTTPStatus.NOT_FOUND


def test_the_sessions_api_needs_an_access_token(api_client):
    assert api_client.get("/auth/sessions/").status_code == HTTPStatus.UNAUTHORIZED
    assert api_client.delete(f"/auth/sessions/{uuid.uuid4()}/").status_code == HTTPStatus.UNAUTHORIZED


def test_an_operator_ends_sessions_in_the_admin(api_client, user, token_pair):
    operator = User.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    admin = APIClient()
    admin.force_login(operator)
    session = LoginSession.objects.get(user=user)

    response = admin.post(
        "/auth/admin/accounts/loginsession/", {"action": "end_sessions", "_selected_action": [str(session.id)]}
    )

    assert response.status_code == HTTPStatus.FOUND
    session.refresh_from_db()
    assert session.revoked_reason == LoginSession.REVOKED_OPERATOR
    assert refresh(api_client, token_pair["refresh"]).status_code == HTTPStatus.UNAUTHORIZED


def test_a_login_whose_account_was_deleted_after_its_password_check_is_refused_without_a_session(user):
    """The deletion committed between the password check and the new session: an invalid login, not a 500 from the
    session's foreign key (found racing logins with DELETE /auth/me/)."""
    User.objects.filter(pk=user.pk).delete()

    with pytest.raises(InvalidCredentials):
        services.token_pair_for_user(user=user)

    assert not LoginSession.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"is_active": False},  # an operator deactivated the account during the password check
        {"password": "pbkdf2_sha256$1$salt$changed-meanwhile"},  # the user changed the password during it
    ],
)
def test_a_login_whose_account_changed_during_its_password_check_starts_no_session(user, change):
    User.objects.filter(pk=user.pk).update(**change)  # `user` is the account as the password check found it

    with pytest.raises(InvalidCredentials):
        services.token_pair_for_user(user=user)

    assert not LoginSession.objects.exists(), "a session the change could not end"


@pytest.mark.django_db(transaction=True)
def test_logins_racing_the_accounts_deletion_are_200_or_401_and_leave_no_session(user):
    """On PostgreSQL the user's row lock orders them: a login either finishes before the deletion (which then
    deletes its session) or finds no account."""
    access = services.token_pair_for_user(user=user)["access"]
    start = threading.Barrier(4)
    statuses: list[int] = []

    def log_in_once() -> None:
        start.wait(timeout=10)
        response = APIClient().post("/auth/login/", {"username": "alice", "password": PASSWORD}, format="json")
        statuses.append(response.status_code)
        connections.close_all()

    def delete_account() -> None:
        start.wait(timeout=10)
        statuses.append(bearer(access).delete("/auth/me/", {"password": PASSWORD}, format="json").status_code)
        connections.close_all()

    threads = [threading.Thread(target=log_in_once) for _ in range(3)] + [threading.Thread(target=delete_account)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert set(statuses) <= {HTTPStatus.OK, HTTPStatus.NO_CONTENT, HTTPStatus.UNAUTHORIZED}, statuses
    assert len(statuses) == 4, "every request answered (a 500 raises in its thread)"
    assert HTTPStatus.NO_CONTENT in statuses
    assert not User.objects.filter(pk=user.pk).exists()
    assert not LoginSession.objects.exists()


def test_a_password_change_whose_account_was_deleted_meanwhile_is_refused_as_no_account(user):
    User.objects.filter(pk=user.pk).delete()

    with pytest.raises(TokenRejected, match=services.NO_ACTIVE_ACCOUNT):
        services.user_password_change(
            user=user, old_password=PASSWORD, new_password="a brand new passphrase 7", client_ip="127.0.0.1"
        )


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_racing_with_one_token_never_both_succeed_and_the_session_ends(user):
    """On PostgreSQL the session's row lock orders them; on SQLite its immediate transactions do."""
    token = services.token_pair_for_user(user=user)["refresh"]
    start = threading.Barrier(4)
    statuses: list[int] = []

    def racer() -> None:
        client = APIClient()
        start.wait(timeout=10)
        statuses.append(refresh(client, token).status_code)
        connections.close_all()

    threads = [threading.Thread(target=racer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses.count(HTTPStatus.OK) <= 1
    assert statuses.count(HTTPStatus.UNAUTHORIZED) >= 3
    assert LoginSession.objects.get().revoked_reason == LoginSession.REVOKED_REUSE


def test_a_login_deletes_the_users_sessions_that_expired_a_day_ago(api_client, user):
    old = services.token_pair_for_user(user=user)
    LoginSession.objects.update(expires_at=timezone.now() - timedelta(days=2))

    log_in(api_client)

    assert not LoginSession.objects.filter(pk=claims(old["refresh"])["sid"]).exists()
    assert LoginSession.objects.count() == 1
