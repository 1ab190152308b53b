"""Manage the signing keyring: ensure, rotate, list, prune (runbook: docs/key-rotation.md)."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.keyring import KeyringError, keyring_ensure, keyring_prune, keyring_records, keyring_rotate


def longest_token_lifetime() -> timedelta:
    """How long a key must stay published after it signed its last token."""
    lifetime = max(settings.JWT_ACCESS_TOKEN_LIFETIME, settings.JWT_REFRESH_TOKEN_LIFETIME)
    # Workers notice a rotation within the check interval, so a retired key may sign for that long after.
    return timedelta(seconds=lifetime + settings.JWT_LEEWAY + settings.JWT_KEYRING_CHECK_INTERVAL + 60)


class Command(BaseCommand):
    help = "Manage the RS256 signing keyring in JWT_KEYS_DIR."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("ensure", help="Create the first key when the keyring is empty (idempotent).")
        actions.add_parser("rotate", help="Add a key and make it active; the previous one is retired.")
        actions.add_parser("list", help="Show every key of the keyring.")
        prune = actions.add_parser("prune", help="Remove keys retired longer than the longest token lifetime.")
        prune.add_argument(
            "--retired-for",
            type=int,
            metavar="SECONDS",
            help="Override the age (default: the longest token lifetime plus margins). A smaller value "
            "invalidates tokens signed by the removed keys: use it only to drop a compromised key.",
        )

    def handle(self, *args, action: str, **options):
        directory = Path(settings.JWT_KEYS_DIR)
        try:
            getattr(self, f"_{action}")(directory, options)
        except KeyringError as exc:
            raise CommandError(str(exc)) from exc

    def _ensure(self, directory: Path, options: dict) -> None:
        kid, created = keyring_ensure(directory=directory, key_size=settings.JWT_KEY_SIZE)
        verb = "Created signing key" if created else "Signing key already present:"
        self.stdout.write(f"{verb} {kid} in {directory}")

    def _rotate(self, directory: Path, options: dict) -> None:
        previous_kid, kid = keyring_rotate(directory=directory, key_size=settings.JWT_KEY_SIZE)
        self.stdout.write(f"Active signing key is now {kid}; {previous_kid} is retired (still published).")

    def _list(self, directory: Path, options: dict) -> None:
        active_kid, records = keyring_records(directory=directory)
        for record in records:
            state = "active" if record.kid == active_kid else "retired"
            retired = record.retired_at.isoformat() if record.retired_at else "-"
            self.stdout.write(f"{record.kid}  {state:<7}  created {record.created_at.isoformat()}  retired {retired}")

    def _prune(self, directory: Path, options: dict) -> None:
        retired_for = (
            timedelta(seconds=options["retired_for"])
            if options["retired_for"] is not None
            else longest_token_lifetime()
        )
        pruned = keyring_prune(directory=directory, retired_for=retired_for)
        if pruned:
            self.stdout.write(f"Removed {len(pruned)} retired key(s): {', '.join(pruned)}")
        else:
            self.stdout.write(f"No key retired for longer than {int(retired_for.total_seconds())} s.")
