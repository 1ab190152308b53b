"""Login throttling: failed attempts spend budgets in the shared cache (django-ratelimit), keyed by plain values.

The tight budget is per username *and* client address, so an attacker spends their own budget and never locks the
real user out from the user's own address; a much higher per-username ceiling still caps a distributed guess at
one account, and a per-address budget caps one address spraying many usernames (docs/api.md, "Login throttling").
"""

import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import get_usage


@dataclass(frozen=True)
class _Budget:
    group: str
    rate: str
    value: str


def login_name_key(username: str) -> str:
    """The form every entry point reduces a username to: NFKC, then case-folded (accounts.models.AccountManager)."""
    return unicodedata.normalize("NFKC", username).casefold()


def _budgets(*, username: str, client_ip: str) -> list[_Budget]:
    # Usernames differing only in case or in Unicode form share a budget, so such games buy an attacker nothing.
    name = login_name_key(username)
    budgets = [
        _Budget("login-username-ip", settings.LOGIN_RATE_PER_USERNAME_AND_IP, f"{name}\x00{client_ip}"),
        _Budget("login-username", settings.LOGIN_RATE_PER_USERNAME, name),
        _Budget("login-ip", settings.LOGIN_RATE_PER_IP, client_ip),
    ]
    return [budget for budget in budgets if budget.rate]


def _usage(budget: _Budget, *, increment: bool) -> dict | None:
    return get_usage(
        None, group=budget.group, key=lambda group, request: budget.value, rate=budget.rate, increment=increment
    )


def login_retry_after(*, username: str, client_ip: str) -> int | None:
    """Seconds until the next login may be tried, or None when no budget is spent."""
    waits = []
    for budget in _budgets(username=username, client_ip=client_ip):
        usage = _usage(budget, increment=False)
        if usage is not None and (usage["should_limit"] or usage["count"] >= usage["limit"]):
            waits.append(max(usage["time_left"], 1))
    return max(waits) if waits else None


def login_failure_record(*, username: str, client_ip: str) -> None:
    """Spend one attempt of each budget."""
    for budget in _budgets(username=username, client_ip=client_ip):
        _usage(budget, increment=True)
