"""The auth service's own Prometheus metrics: refused logins and tokens, the outbox and its relay."""

from collections.abc import Iterator

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from accounts.selectors import outbox_backlog

login_failures = Counter("auth_login_failures_total", "Refused logins, by reason.", ["reason"])
token_refusals = Counter("auth_token_refusals_total", "Refused refresh tokens, by reason.", ["reason"])
events_published = Counter(
    "outbox_events_published_total", "Events the relay published and the broker confirmed, by type.", ["type"]
)


class OutboxBacklogCollector(Collector):
    """The outbox's unsent events and the age of the oldest, read from the database at each scrape (relay only)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = outbox_backlog()
        yield GaugeMetricFamily(
            "outbox_events_pending", "Events recorded and not yet published.", value=backlog.waiting
        )
        yield GaugeMetricFamily(
            "outbox_oldest_pending_age_seconds",
            "How long the oldest unpublished event has waited (0 when none waits).",
            value=backlog.oldest_age_seconds,
        )
