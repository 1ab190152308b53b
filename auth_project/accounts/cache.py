"""A database cache whose increment is atomic, so concurrent workers never lose a login-throttle count."""

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
