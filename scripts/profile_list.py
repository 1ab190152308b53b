"""Profile the todo list in one process, through the WSGI application as gunicorn calls it (docs/benchmarks.md).

Production settings, a PostgreSQL database of its own (seeded with SEEDED todos for one owner), a real RS256
token checked against a JWKS file: every middleware, the token check, the account-state check and the throttles
run as they do under load, without the gateway or gunicorn. It prints the mean time per request and, with
--cprofile, the functions that took the most time. Run it under valgrind's callgrind twice, with two request
counts, for instructions per request: a count that other processes on the machine cannot disturb.

    .venvs/todo/bin/python scripts/profile_list.py --mode full --requests 500 --cprofile
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venvs/todo/bin/python scripts/profile_list.py -n 20

--project points at another checkout's todo_project (to profile the code before a change); --mode is full (the
list rendered each time, the service's page cache emptied before each request when it has one), cached (the
same page again) or 304 (If-None-Match with the page's ETag).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
SEEDED = 100
OWNER = "profile-owner"
PATH, QUERY = "/todos/", "page_size=20"


def configure(project: Path, database: str, jwks_path: Path) -> None:
    sys.path.insert(0, str(project))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": "profile-not-a-secret-" + "x" * 40,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "JWT_ISSUER": "todo-microservices-auth",
            "JWT_AUDIENCE": "todo-microservices",
            "JWT_JWKS_FILE": str(jwks_path),
            "DATABASE_URL": f"{POSTGRES_URL}/{database}",
            "DJANGO_SECURE_COOKIES": "false",
        }
    )


def signing_material(jwks_path: Path) -> str:
    """Write a JWKS file with a fresh key and return an access token it verifies."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from todos.keyring import rfc7638_thumbprint

    # One key kept between runs: generating one costs a varying number of instructions (a search for primes).
    key_path = REPO / "var" / "profile" / "signing-key.pem"
    if key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        key_path.write_bytes(pem)
        key_path.chmod(0o600)
    kid = rfc7638_thumbprint(key.public_key())
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())) | {"kid": kid, "use": "sig", "alg": "RS256"}
    jwks_path.write_text(json.dumps({"keys": [jwk]}))
    now = int(time.time())
    claims = {"sub": OWNER, "iss": os.environ["JWT_ISSUER"], "aud": os.environ["JWT_AUDIENCE"], "iat": now}
    claims |= {"exp": now + 3600, "jti": uuid.uuid4().hex, "token_type": "access"}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def environ(token: str, etag: str | None) -> dict:
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": PATH,
        "QUERY_STRING": QUERY,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8002",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_ACCEPT": "application/json",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if etag:
        env["HTTP_IF_NONE_MATCH"] = etag
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=REPO / "todo_project")
    parser.add_argument("--database", default="profile_todo")
    parser.add_argument("--mode", choices=("full", "cached", "304"), default="full")
    parser.add_argument("-n", "--requests", type=int, default=200)
    parser.add_argument("--cprofile", action="store_true", help="print the 25 functions with the most time")
    parser.add_argument("--sort", default="tottime", help="the cProfile table's order (tottime, cumulative)")
    options = parser.parse_args()

    subprocess.run(
        ["psql", f"{POSTGRES_URL}/postgres", "-qc", f"DROP DATABASE IF EXISTS {options.database}"], check=True
    )
    subprocess.run(["psql", f"{POSTGRES_URL}/postgres", "-qc", f"CREATE DATABASE {options.database}"], check=True)
    jwks_path = Path(tempfile.mkdtemp()) / "jwks.json"
    configure(options.project.resolve(), options.database, jwks_path)
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0)
    from todos.models import Todo

    Todo.objects.bulk_create(
        Todo(owner_id=OWNER, title=f"todo {n}", description="seeded", order=n) for n in range(SEEDED)
    )
    token = signing_material(jwks_path)
    # The access log lines are part of the work; written where they cost what a pipe would, not a terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    application = get_wsgi_application()
    try:
        from todos import conditional
    except ImportError:
        conditional = None

    def request(etag: str | None = None) -> tuple[str, dict]:
        answer: dict = {}

        def start_response(status: str, headers: list, exc_info: object = None) -> None:
            answer.update(status=status, headers=dict(headers))

        body = b"".join(application(environ(token, etag), start_response))
        assert answer["status"][:3] in ("200", "304"), (answer, body[:200])
        return answer["status"], answer["headers"]

    _, headers = request()
    etag = headers.get("ETag") if options.mode == "304" else None
    if options.mode == "304" and not etag:
        sys.exit("profile: this checkout's list has no ETag")

    def one() -> None:
        if options.mode == "full" and conditional is not None:
            conditional.rendered_pages.clear()
        status, _ = request(etag)
        if options.mode == "304":
            assert status.startswith("304"), status

    for _ in range(20):
        one()
    profiler = cProfile.Profile() if options.cprofile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(options.requests):
        one()
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"{options.mode}: {options.requests} requests, {elapsed / max(options.requests, 1) * 1e6:.0f} µs each")
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats(options.sort).print_stats(40)
        if os.environ.get("PROFILE_DUMP"):
            stats.dump_stats(os.environ["PROFILE_DUMP"])


if __name__ == "__main__":
    main()
