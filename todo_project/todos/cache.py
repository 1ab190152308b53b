"""A database cache for the login-throttle counters: atomic increments, and live counters are never culled."""

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction


class LockingDatabaseCache(DatabaseCache):
    """Django's DatabaseCache increments by read-then-write; this one holds the row lock in between."""

    def incr(self, key, delta=1, version=None):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        with transaction.atomic(using=db):
            # SQLite has no row locks; its IMMEDIATE transactions already serialise writers.
            if connection.features.has_select_for_update:
                table = connection.ops.quote_name(self._table)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT 1 FROM {table} WHERE cache_key = %s FOR UPDATE",  # noqa: S608 (table name from settings, quoted)
                        [self.make_and_validate_key(key, version=version)],
                    )
            return super().incr(key, delta, version)

    def _cull(self, db, cursor, now, num):
        """Delete expired entries only.

        Past MAX_ENTRIES, Django's cull also deletes a share of the live entries. Here every live entry is a
        throttle counter, so an attacker spraying usernames would wipe the counters, their own address's
        included. The table holds only the counters of the current window, which the gateway's login rate
        limit keeps small.
        """
        table = connections[db].ops.quote_name(self._table)
        expires = connections[db].ops.quote_name("expires")
        cursor.execute(
            f"DELETE FROM {table} WHERE {expires} < %s",  # noqa: S608 (names from settings, quoted)
            [connections[db].ops.adapt_datetimefield_value(now)],
        )
