"""Login throttling: failed attempts spend a budget per username and per client address (django-ratelimit)."""

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage


@dataclass(frozen=True)
class _Budget:
    group: str
    rate: str
    key: object


def _budgets(username: str) -> list[_Budget]:
    # Usernames differing only in case share a budget, so case games buy an attacker nothing.
    normalized = username.casefold()
    budgets = [
        _Budget("login-username", settings.LOGIN_RATE_PER_USERNAME, lambda group, request: normalized),
        _Budget("login-ip", settings.LOGIN_RATE_PER_IP, "ip"),
    ]
    return [budget for budget in budgets if budget.rate]


def login_retry_after(*, request: HttpRequest, username: str) -> int | None:
    """Seconds until the next login may be tried, or None when neither budget is spent."""
    waits = []
    for budget in _budgets(username):
        usage = get_usage(request, group=budget.group, key=budget.key, rate=budget.rate, increment=False)
        if usage is not None and (usage["should_limit"] or usage["count"] >= usage["limit"]):
            waits.append(max(usage["time_left"], 1))
    return max(waits) if waits else None


def login_failure_record(*, request: HttpRequest, username: str) -> None:
    """Spend one attempt of each budget."""
    for budget in _budgets(username):
        get_usage(request, group=budget.group, key=budget.key, rate=budget.rate, increment=True)
