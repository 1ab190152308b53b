"""Password hashing at OWASP's Argon2id minimum (docs/configuration.md explains the choice)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id with 19 MiB, 2 passes, 1 lane: OWASP's floor.

    Django's defaults (100 MiB, 8 lanes) cost many times more per hash (docs/benchmarks.md), which would make
    login the bottleneck and a denial-of-service lever. The algorithm name stays "argon2", so hashes made with
    other parameters still verify and are re-hashed at these on the next login.
    """

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
