"""The todo service's own Prometheus metrics: refused tokens and the account events it consumes."""

from prometheus_client import Counter, Gauge

token_refusals = Counter("todo_token_refusals_total", "Refused access tokens, by reason.", ["reason"])
events_consumed = Counter(
    "events_consumed_total", "Account events handled and acknowledged, by type and outcome.", ["type", "outcome"]
)
events_redelivered = Counter(
    "events_redelivered_total", "Messages the broker handed out again (after a crash or a lost connection)."
)
events_dead_lettered = Counter(
    "events_dead_lettered_total", "Messages sent to the dead-letter queue, by reason.", ["reason"]
)
events_queue_messages = Gauge(
    "events_queue_messages",
    "Messages waiting in the event queue and in its dead-letter queue, as the consumer last read them.",
    ["queue"],
    multiprocess_mode="max",
)
