"""`manage.py outbox_relay`: publish the outbox's events to RabbitMQ until SIGTERM or SIGINT."""

import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from prometheus_client import REGISTRY

from accounts.metrics import OutboxBacklogCollector
from accounts.outbox import outbox_relay_run
from config.metrics import metrics_serve
from config.tracing import tracing_start

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Publish the outbox's events to RabbitMQ (AMQP_URL) with publisher confirms; run beside the web process."

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if settings.METRICS_BIND:
            # The relay reports the backlog it drains (each relay reads the same figures: alert on their max).
            REGISTRY.register(OutboxBacklogCollector())
            metrics_serve(bind=settings.METRICS_BIND)
            logger.info("metrics served", extra={"bind": settings.METRICS_BIND})
        tracing_start(service_name="auth-outbox-relay")
        logger.info("outbox relay starting", extra={"broker": _without_password(settings.AMQP_URL)})
        outbox_relay_run(should_stop=lambda: stopping)
        logger.info("outbox relay stopped")


def _without_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rsplit('@', 1)[-1]}"
