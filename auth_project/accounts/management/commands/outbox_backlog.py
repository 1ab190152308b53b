"""`manage.py outbox_backlog`: how many events wait in the outbox, and for how long (`make status` shows it)."""

from typing import Any

from django.core.management.base import BaseCommand

from accounts.selectors import outbox_backlog


class Command(BaseCommand):
    help = "Show the events the relay has not published yet, and how old the oldest one is."

    def handle(self, *args: Any, **options: Any) -> None:
        backlog = outbox_backlog()
        if backlog.waiting == 0:
            self.stdout.write(f"outbox: nothing waiting ({backlog.sent} sent, kept until pruned)")
            return
        events = "1 event" if backlog.waiting == 1 else f"{backlog.waiting} events"
        self.stdout.write(
            f"outbox: {events} waiting, the oldest for {backlog.oldest_age_seconds:.0f} s "
            f"({backlog.sent} sent, kept until pruned)"
        )
