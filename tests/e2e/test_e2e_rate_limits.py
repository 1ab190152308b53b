"""Rate limits at the gateway, per client address: a burst of credential requests gets a JSON 429."""

from http import HTTPStatus

from e2e_stack import ALLOWED_ORIGIN

STRICT_BURST = 10


def test_a_burst_of_login_attempts_gets_a_json_429_with_retry_after(client, make_client):
    # An empty body is refused by the service at once (400), so the burst is faster than the refill rate.
    responses = [client.post("/auth/login/", json={}, headers={"Origin": ALLOWED_ORIGIN}) for _ in range(25)]
    statuses = [response.status_code for response in responses]

    assert HTTPStatus.TOO_MANY_REQUESTS not in statuses[: STRICT_BURST + 1], statuses
    limited = [response for response in responses if response.status_code == HTTPStatus.TOO_MANY_REQUESTS]
    assert limited, statuses
    for response in limited:
        assert response.headers["Content-Type"].startswith("application/json")
        assert "detail" in response.json()
        assert int(response.headers["Retry-After"]) >= 1
        assert response.raw.headers.getlist("Access-Control-Allow-Origin") == [ALLOWED_ORIGIN]
        assert response.raw.headers.getlist("Retry-After") == [response.headers["Retry-After"]]

    other_client = make_client()
    assert other_client.post("/auth/login/", json={}).status_code != HTTPStatus.TOO_MANY_REQUESTS, "per address"
