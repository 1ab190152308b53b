"""PostgreSQL backend whose connection health check skips the round trip for a connection that just worked."""

import time

from django.db.backends.postgresql import base

# A connection that finished a request cleanly this recently is trusted without a ping.
TRUSTED_FOR_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL backend with a cheaper CONN_HEALTH_CHECKS.

    Django pings the server (SELECT 1) before the first query of every request that reuses a connection.
    Under load that doubles the round trips of a one-query request such as the todo list. Here a connection
    that served a request without a database error less than TRUSTED_FOR_SECONDS ago skips the ping; an idle
    one is pinged as before, so a server restart between bursts is still noticed before a query fails. A
    connection that breaks mid-burst fails that one request, which marks it unusable, and Django closes it.
    """

    last_used_cleanly = float("-inf")

    def close_if_health_check_failed(self) -> None:
        if self.connection is not None and time.monotonic() - self.last_used_cleanly < TRUSTED_FOR_SECONDS:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close_if_unusable_or_obsolete(self) -> None:
        # At the end of a request, health_check_done says the connection was used in it.
        used_cleanly = self.connection is not None and self.health_check_done and not self.errors_occurred
        super().close_if_unusable_or_obsolete()
        if used_cleanly and self.connection is not None:
            self.last_used_cleanly = time.monotonic()
