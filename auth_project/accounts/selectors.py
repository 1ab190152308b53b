"""Reads of the auth service."""

from django.db import DatabaseError, connection

from accounts.keyring import current_keyring


def database_is_ready() -> bool:
    """True when the database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return False
    return True


def jwks_get() -> dict:
    """The JWKS of every published signing key (active first)."""
    return current_keyring().jwks
