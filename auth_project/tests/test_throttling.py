"""Login throttling per username and per client address, in the shared cache (database table or Redis)."""

import os
import socket
import uuid
from http import HTTPStatus

import pytest
from django.core.cache import cache, caches
from django.db import connection

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "definitely not it"


# A database number of its own, and in it a key prefix of this run's own: two runs at once on one machine (a local
# run beside CI's) each read and remove only their own keys, never the other's, and never other Redis data.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_REDIS_KEY_PREFIX = f"auth-tests-{uuid.uuid4().hex}"


def redis_answers(url: str) -> bool:
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(autouse=True, params=["database", "redis"])
def shared_cache(request, settings):
    """Run every throttling test on both shared caches the service supports."""
    if request.param == "redis":
        if not redis_answers(TEST_REDIS_URL):
            pytest.skip(f"Redis at {TEST_REDIS_URL} does not answer (set TEST_REDIS_URL, or start redis-server)")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": TEST_REDIS_URL,
                "KEY_PREFIX": TEST_REDIS_KEY_PREFIX,
            }
        }
        remove_this_runs_redis_keys()
        yield request.param
        remove_this_runs_redis_keys()
    else:
        yield request.param


def this_runs_redis_keys() -> list[bytes]:
    # Django's cache.clear() would empty the whole database, another run's keys with it.
    client = caches["default"]._cache.get_client(write=True)
    return list(client.scan_iter(match=f"{TEST_REDIS_KEY_PREFIX}:*"))


def remove_this_runs_redis_keys() -> None:
    if keys := this_runs_redis_keys():
        caches["default"]._cache.get_client(write=True).delete(*keys)


def cache_keys(backend: str) -> list[str]:
    """Every key the throttle wrote, read from the store itself rather than through Django's cache."""
    if backend == "redis":
        return [key.decode().split(":", 2)[-1] for key in this_runs_redis_keys()]
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM auth_cache")
        return [row[0].split(":", 2)[-1] for row in cursor.fetchall()]


@pytest.fixture(autouse=True)
def small_budgets(settings):
    settings.LOGIN_RATE_PER_USERNAME_AND_IP = "3/m"
    settings.LOGIN_RATE_PER_USERNAME = "6/m"
    settings.LOGIN_RATE_PER_IP = "5/m"


def login(client, username, password=WRONG, **extra):
    return client.post("/auth/login/", {"username": username, "password": password}, format="json", **extra)


def test_failed_logins_for_one_username_are_throttled_with_retry_after(api_client, user):
    for _ in range(3):
        assert login(api_client, "alice").status_code == HTTPStatus.UNAUTHORIZED

    response = login(api_client, "alice")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Too many failed login attempts.")


def test_a_throttled_username_is_refused_even_with_the_right_password(api_client, user):
    for _ in range(3):
        login(api_client, "alice")

    assert login(api_client, "alice", PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_changing_the_case_of_the_username_does_not_reset_its_budget(api_client, user):
    for name in ("alice", "ALICE", "Alice"):
        login(api_client, name)

    assert login(api_client, "aLiCe").status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_successful_logins_do_not_spend_the_budget(api_client, user):
    for _ in range(6):
        assert login(api_client, "alice", PASSWORD).status_code == HTTPStatus.OK


def test_one_address_is_throttled_across_usernames(api_client, db):
    for number in range(5):
        assert login(api_client, f"user{number}").status_code == HTTPStatus.UNAUTHORIZED

    assert login(api_client, "someone-new").status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_client_sent_forwarding_headers_do_not_change_whose_budget_is_spent(api_client, db):
    for number in range(5):
        response = login(
            api_client,
            f"user{number}",
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{number}",
            HTTP_X_REAL_IP=f"198.51.100.{number}",
        )
        assert response.status_code == HTTPStatus.UNAUTHORIZED

    response = login(
        api_client,
        "someone-new",
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR="192.0.2.1",
        HTTP_X_REAL_IP="192.0.2.1",
    )

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_the_gateway_real_ip_gives_each_client_its_own_budget(api_client, db):
    for number in range(5):
        login(api_client, f"user{number}", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="198.51.100.1")

    throttled = login(api_client, "someone-new", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="198.51.100.1")
    other_client = login(api_client, "someone-new", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="198.51.100.2")

    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert other_client.status_code == HTTPStatus.UNAUTHORIZED


def test_an_empty_rate_turns_a_limit_off(api_client, user, settings):
    settings.LOGIN_RATE_PER_USERNAME_AND_IP = ""
    settings.LOGIN_RATE_PER_USERNAME = ""
    settings.LOGIN_RATE_PER_IP = ""

    for _ in range(8):
        assert login(api_client, "alice").status_code == HTTPStatus.UNAUTHORIZED


def test_counters_live_in_a_cache_shared_by_all_workers(shared_cache, user, api_client):
    expected_backend = {"database": "LockingDatabaseCache", "redis": "RedisCache"}[shared_cache]
    assert type(caches["default"]).__name__ == expected_backend

    login(api_client, "alice")

    # Another worker is another process with its own connection: it sees the count through the cache alone.
    assert any(cache.get(key) == 1 for key in cache_keys(shared_cache))


def test_spraying_many_usernames_does_not_wipe_another_usernames_spent_budget(shared_cache, api_client, settings, db):
    settings.LOGIN_RATE_PER_IP = ""
    settings.LOGIN_RATE_PER_USERNAME_AND_IP = ""
    # An hour's window: the spray takes seconds, and a minute's window could end during it and reset the budget.
    settings.LOGIN_RATE_PER_USERNAME = "3/h"
    for _ in range(3):
        login(api_client, "alice")

    # Far more counters than the database cache's default MAX_ENTRIES (300).
    for number in range(400):
        login(api_client, f"sprayed-{number}")

    assert login(api_client, "alice").status_code == HTTPStatus.TOO_MANY_REQUESTS


def from_address(address: str) -> dict[str, str]:
    """What the gateway sends for a client at this address."""
    return {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": address}


def test_an_attacker_spending_a_users_budget_does_not_lock_the_user_out_of_their_own_address(api_client, user):
    for _ in range(3):
        login(api_client, "alice", **from_address("203.0.113.66"))

    attacker = login(api_client, "alice", PASSWORD, **from_address("203.0.113.66"))
    owner = login(api_client, "alice", PASSWORD, **from_address("198.51.100.7"))

    assert attacker.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert owner.status_code == HTTPStatus.OK


def test_guesses_at_one_username_from_many_addresses_meet_the_per_username_ceiling(api_client, user):
    for number in range(6):
        assert login(api_client, "alice", **from_address(f"203.0.113.{number}")).status_code == HTTPStatus.UNAUTHORIZED

    response = login(api_client, "alice", PASSWORD, **from_address("198.51.100.7"))

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_a_fullwidth_username_shares_the_budget_of_its_plain_form(api_client, user):
    for name in ("alice", "\uff41\uff4c\uff49\uff43\uff45", "\uff21\uff2c\uff29\uff23\uff25"):  # fullwidth forms
        login(api_client, name)

    assert login(api_client, "alice", PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_the_admin_login_spends_and_obeys_the_api_logins_budget(api_client, user):
    user.is_staff = True
    user.save()
    for _ in range(3):
        page = api_client.post("/auth/admin/login/", {"username": "alice", "password": WRONG})
        assert page.status_code == HTTPStatus.OK, "the admin shows its form again with an error"

    assert login(api_client, "alice", PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS
    admin = api_client.post("/auth/admin/login/", {"username": "alice", "password": PASSWORD})
    assert admin.status_code == HTTPStatus.OK, "the right password is refused too: no redirect into the admin"
    assert "_auth_user_id" not in api_client.session


def test_the_admin_login_is_refused_once_api_logins_spent_the_budget(api_client, user):
    user.is_staff = True
    user.save()
    for _ in range(3):
        login(api_client, "alice")

    admin = api_client.post("/auth/admin/login/", {"username": "alice", "password": PASSWORD})

    assert admin.status_code == HTTPStatus.OK
    assert "_auth_user_id" not in api_client.session
    assert "Too many failed login attempts. Try again in " in admin.content.decode(), "not 'a wrong password'"


def test_wrong_old_passwords_on_a_password_change_are_throttled_as_failed_logins(auth_client, user):
    body = {"old_password": WRONG, "new_password": "a brand new passphrase"}
    for _ in range(3):
        assert auth_client.post("/auth/password/", body, format="json").status_code == HTTPStatus.BAD_REQUEST

    right = auth_client.post("/auth/password/", {**body, "old_password": PASSWORD}, format="json")

    assert right.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Retry-After" in right
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_an_admin_login_whose_next_page_is_refused_lands_on_the_admin_index(api_client, user):
    user.is_staff = True
    user.save()

    response = api_client.post(
        "/auth/admin/login/?next=//evil.example/",
        {"username": "alice", "password": PASSWORD, "next": "//evil.example/"},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/auth/admin/", "not another site, nor /accounts/profile/ (a 404)"
