"""Password hashing at OWASP's Argon2id minimum (docs/configuration.md explains the choice)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id with 12 MiB, 3 passes, 1 lane: one of OWASP's minimum configurations.

    OWASP lists five configurations of equal strength (46 MiB t=1, 19 MiB t=2, 12 MiB t=3, 9 MiB t=4, 7 MiB t=5),
    trading memory for passes. This one holds 7 MiB less per hash in flight than 19 MiB t=2, for about the same CPU
    time (three passes over 12 MiB, two over 19), which keeps an auth worker with two hashes at once under its
    120 MB budget (docs/benchmarks.md). Django's defaults (100 MiB, 8 lanes) cost many times more per hash, which
    would make login the bottleneck and a denial-of-service lever. The algorithm name stays "argon2", so hashes
    made with other parameters (19 MiB t=2 before) still verify and are re-hashed at these on the next login.
    """

    time_cost = 3
    memory_cost = 12 * 1024
    parallelism = 1
