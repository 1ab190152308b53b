"""Delete Idempotency-Keys past IDEMPOTENCY_KEY_RETENTION; writes prune their caller's own, this prunes everybody's."""

from typing import Any

from django.core.management.base import BaseCommand

from todos import services


class Command(BaseCommand):
    help = "Delete idempotency keys older than IDEMPOTENCY_KEY_RETENTION seconds, in batches."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        while deleted := services.idempotency_keys_prune():
            total += deleted
        self.stdout.write(f"deleted {total} expired idempotency key(s)")
