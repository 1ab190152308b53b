"""Accounts end: a user deletes their account, an operator deletes or (de)activates one; each records an event."""

from http import HTTPStatus

import pytest
from django.utils import timezone

from accounts import services
from accounts.events import EVENT_TYPES
from accounts.models import LoginSession, OutboxEvent, User
from tests.conftest import PASSWORD
from tests.events_support import contract_errors, event_schema

pytestmark = pytest.mark.django_db


def events_of(user_id: int) -> list[dict]:
    return [event.payload for event in OutboxEvent.objects.order_by("id") if event.payload["sub"] == str(user_id)]


def test_a_user_deletes_their_account_with_their_password(auth_client, user):
    response = auth_client.delete("/auth/me/", {"password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not User.objects.filter(pk=user.pk).exists()
    [event] = events_of(user.pk)
    assert event["type"] == "user.deleted.v1"
    assert contract_errors(event) == []


def test_deleting_an_account_answers_without_a_trailing_slash(auth_client, user):
    assert auth_client.delete("/auth/me", {"password": PASSWORD}, format="json").status_code == HTTPStatus.NO_CONTENT


@pytest.mark.parametrize(
    ("body", "problem"),
    [({"password": "not the password"}, "The password is wrong."), ({}, "This field is required."), (None, None)],
)
def test_deleting_an_account_with_a_wrong_or_missing_password_is_400_and_changes_nothing(
    auth_client, user, body, problem
):
    response = auth_client.delete("/auth/me/", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    if problem:
        assert response.json() == {"password": [problem]}
    assert User.objects.filter(pk=user.pk).exists()
    assert not OutboxEvent.objects.exists()


@pytest.mark.parametrize("password", [12345678, None, ["x"], {"p": 1}])
def test_deleting_an_account_with_a_password_that_is_not_a_string_is_400(auth_client, user, password):
    response = auth_client.delete("/auth/me/", {"password": password}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "password" in response.json()
    assert User.objects.filter(pk=user.pk).exists()


def test_deleting_an_account_needs_an_access_token(api_client, user):
    response = api_client.delete("/auth/me/", {"password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert User.objects.filter(pk=user.pk).exists()


def test_after_a_deletion_the_tokens_are_dead_and_the_name_can_be_registered_again_with_a_new_id(
    auth_client, api_client, user, token_pair
):
    auth_client.delete("/auth/me/", {"password": PASSWORD}, format="json")

    assert auth_client.get("/auth/me/").status_code == HTTPStatus.UNAUTHORIZED
    refresh = api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")
    assert refresh.status_code == HTTPStatus.UNAUTHORIZED
    registered = api_client.post(
        "/auth/register/", {"username": user.username, "email": user.email, "password": PASSWORD}, format="json"
    )
    assert registered.status_code == HTTPStatus.CREATED, registered.json()
    assert registered.json()["id"] != user.pk
    login = api_client.post("/auth/login/", {"username": user.username, "password": PASSWORD}, format="json")
    assert login.status_code == HTTPStatus.OK


def test_an_account_deletion_that_fails_leaves_no_event(user, monkeypatch):
    def broken_delete(self, *args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(User, "delete", broken_delete)
    with pytest.raises(RuntimeError):
        services.user_delete(user=user)

    assert not OutboxEvent.objects.exists(), "the event and the change commit together or not at all"


def test_an_account_deleted_twice_records_one_event(user):
    user_id = user.pk
    stale = User.objects.get(pk=user_id)
    services.user_delete(user=user)

    services.user_delete(user=stale)

    assert len(events_of(user_id)) == 1


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("text/plain", "password", HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
        ("application/json", '{"password": ', HTTPStatus.BAD_REQUEST),
        ("application/json", '{"password": "' + "x" * 300 + '"}', HTTPStatus.BAD_REQUEST),
        ("application/json", '["password"]', HTTPStatus.BAD_REQUEST),
    ],
)
def test_deleting_an_account_with_a_malformed_body_is_a_json_4xx_and_changes_nothing(
    auth_client, user, content_type, body, status
):
    response = auth_client.generic("DELETE", "/auth/me/", body, content_type=content_type)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert User.objects.filter(pk=user.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_an_event_cannot_be_recorded_outside_a_transaction(user):
    with pytest.raises(RuntimeError, match="transaction"):
        services.outbox_event_record(event_type="user.deleted.v1", user_id=user.pk)


@pytest.fixture
def operator_client(client, django_user_model):
    operator = django_user_model.objects.create_superuser(username="root", email="root@example.com", password="x")
    client.force_login(operator)
    return client


def change_form(user: User, **changes) -> dict:
    """The admin's change form of a user as an operator submits it."""
    joined = timezone.localtime(user.date_joined)
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
        **changes,
    }
    return {name: value for name, value in data.items() if value is not None}


def test_an_operator_deleting_a_user_in_the_admin_records_user_deleted(operator_client, user):
    response = operator_client.post(f"/auth/admin/accounts/user/{user.pk}/delete/", {"post": "yes"})

    assert response.status_code == HTTPStatus.FOUND
    assert not User.objects.filter(pk=user.pk).exists()
    assert [event["type"] for event in events_of(user.pk)] == ["user.deleted.v1"]


def test_an_operator_deleting_users_in_bulk_records_one_event_each(operator_client, user, django_user_model):
    other = django_user_model.objects.create_user(username="bob", email="bob@example.com", password=PASSWORD)

    response = operator_client.post(
        "/auth/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [user.pk, other.pk], "post": "yes"},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert [event["type"] for event in events_of(user.pk) + events_of(other.pk)] == ["user.deleted.v1"] * 2


def test_an_operator_deactivating_and_reactivating_a_user_records_both(operator_client, user, api_client):
    url = f"/auth/admin/accounts/user/{user.pk}/change/"

    deactivated = operator_client.post(url, change_form(user, is_active=None))
    assert deactivated.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.is_active is False
    login = api_client.post("/auth/login/", {"username": user.username, "password": PASSWORD}, format="json")
    assert login.status_code == HTTPStatus.UNAUTHORIZED, "a deactivated user cannot log in"

    reactivated = operator_client.post(url, change_form(user))
    assert reactivated.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.is_active is True

    events = events_of(user.pk)
    assert [event["type"] for event in events] == ["user.deactivated.v1", "user.reactivated.v1"]
    assert all(contract_errors(event) == [] for event in events)
    assert events[0]["occurred_at"] < events[1]["occurred_at"]


def test_a_refresh_token_from_before_a_deactivation_stays_refused_after_the_reactivation(
    operator_client, user, token_pair, api_client
):
    url = f"/auth/admin/accounts/user/{user.pk}/change/"
    assert operator_client.post(url, change_form(user, is_active=None)).status_code == HTTPStatus.FOUND
    assert operator_client.post(url, change_form(user)).status_code == HTTPStatus.FOUND

    response = api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert LoginSession.objects.get(user=user).revoked_reason == LoginSession.REVOKED_DEACTIVATED
    login = api_client.post("/auth/login/", {"username": user.username, "password": PASSWORD}, format="json")
    assert login.status_code == HTTPStatus.OK, "the reactivated user logs in again, in a new session"


def test_operators_can_read_the_outbox_in_the_admin_but_never_change_or_delete_an_event(operator_client, user):
    services.user_delete(user=user)
    event = OutboxEvent.objects.get()

    listing = operator_client.get("/auth/admin/accounts/outboxevent/?sent_at__isempty=1")
    assert listing.status_code == HTTPStatus.OK
    assert str(event.event_id) in listing.content.decode()
    page = operator_client.get(f"/auth/admin/accounts/outboxevent/{event.pk}/change/")
    assert page.status_code == HTTPStatus.OK
    assert operator_client.post(
        f"/auth/admin/accounts/outboxevent/{event.pk}/delete/", {"post": "yes"}
    ).status_code == (HTTPStatus.FORBIDDEN)
    assert OutboxEvent.objects.filter(pk=event.pk).exists()


def test_an_admin_save_that_leaves_is_active_alone_records_nothing(operator_client, user):
    response = operator_client.post(f"/auth/admin/accounts/user/{user.pk}/change/", change_form(user, last_name="L"))

    assert response.status_code == HTTPStatus.FOUND
    assert not OutboxEvent.objects.exists()


def test_a_deactivated_user_can_neither_log_in_nor_refresh(api_client, user, token_pair):
    user.is_active = False
    user.save()

    login = api_client.post("/auth/login/", {"username": user.username, "password": PASSWORD}, format="json")
    refresh = api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")

    assert login.status_code == HTTPStatus.UNAUTHORIZED
    assert refresh.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_event_type_has_a_schema_whose_example_it_matches(event_type):
    schema = event_schema(event_type)

    assert schema["title"] == event_type
    assert [contract_errors(example) for example in schema["examples"]] == [[]]


@pytest.mark.parametrize(
    "change",
    [{"sub": 42}, {"sub": ""}, {"id": "not-a-uuid"}, {"occurred_at": "2026-11-27T10:15:30Z"}, {"extra": "field"}],
)
def test_the_contract_refuses_a_malformed_event(change):
    example = event_schema("user.deleted.v1")["examples"][0]

    assert contract_errors({**example, **change}) != []
