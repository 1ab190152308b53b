"""`manage.py consume_events`: apply the auth service's account events from RabbitMQ until SIGTERM or SIGINT."""

import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from config.metrics import metrics_serve
from config.tracing import tracing_start
from todos.consumer import EventConsumer

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Consume the auth service's account events (AMQP_URL) and apply them; run beside the web process."

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if settings.METRICS_BIND:
            metrics_serve(bind=settings.METRICS_BIND)
            logger.info("metrics served", extra={"bind": settings.METRICS_BIND})
        tracing_start(service_name="todo-event-consumer")
        logger.info("event consumer starting")
        EventConsumer(should_stop=lambda: stopping).run()
        logger.info("event consumer stopped")
