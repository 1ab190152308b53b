"""Benchmark the whole stack under load with wrk and write docs/benchmarks.{md,json,png} (`make bench`).

It starts its own stack (scripts/stack.py, var/bench/, its own ports) on PostgreSQL with production
settings and the rate limits lifted, seeds a user and todos through the API, and starts beside it the
floor, a bare DRF ListAPIView on the same database (scripts/bench_floor/), against which every list ratio
is read. It drives the list, its 304 and the floor at a constant 400 req/s with hey (latency below
saturation), then each scenario with wrk: a warm-up, then fixed-length runs at 50 connections, each
scenario twice. The list scenario asks for one page again and again, which each worker sends from its
rendered-page cache; so the stack first starts with that cache off (TODO_LIST_PAGE_CACHE_BYTES=0) for
`list_rendered`, the list rendered on every request (fixed rate, then wrk), and is then started again with
the cache on, on the same databases and rows and beside the same floor, for every other scenario: the
list's 304 is read against `list_rendered`. Then it starts the
stack again with two instances per service and runs the scaling scenarios once more, and once more with
tracing on (spans exported over OTLP/HTTP to an endpoint that discards them). The report holds requests
per second, latency percentiles, unexpected responses, each process's peak memory, the scaling factor
from one instance per service to two and the cost of tracing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import bench_report

REPO = Path(__file__).resolve().parent.parent
WRK_SCRIPT = REPO / "scripts" / "bench_wrk.lua"
VAR_DIR = REPO / "var" / "bench"
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
# Their names can be changed so that two benchmarks on one PostgreSQL server never share a database.
DATABASES = {
    "auth": os.environ.get("BENCH_AUTH_DATABASE", "bench_auth"),
    "todo": os.environ.get("BENCH_TODO_DATABASE", "bench_todo"),
}
PORTS = {
    "gateway": int(os.environ.get("BENCH_GATEWAY_PORT", "18080")),
    "auth": int(os.environ.get("BENCH_AUTH_PORT", "18001")),
    # Ten ports apart: each service's instances take consecutive ports.
    "todo": int(os.environ.get("BENCH_TODO_PORT", "18011")),
    # The bare DRF floor (scripts/bench_floor/), beside the stack.
    "floor": int(os.environ.get("BENCH_FLOOR_PORT", "18021")),
}
FLOOR_WORKERS = 2
# The fixed-rate runs: hey's -q is per worker, so the offered rate is FIXED_RATE_WORKERS x FIXED_RATE_PER_WORKER.
FIXED_RATE_WORKERS = 8
FIXED_RATE_PER_WORKER = 50
FIXED_RATE_SCENARIOS = ("list", "list_304", "floor", "list_rendered")
# Measured by turns (each scenario's run, then the next's, round after round, the order rotating), so that the
# machine's drift over minutes, which on a shared machine moves every rate by tens of percent, falls on all of
# them alike and their ratios stay fair: the list group, whose ratios are issue 14's targets.
INTERLEAVED_SCENARIOS = ("list", "list_direct", "list_rendered", "list_304", "floor", "floor_rendered")
# Rounds of the interleaved group per run the other scenarios make, each round's runs this much shorter: the same
# total time per scenario, in shorter turns.
INTERLEAVE_SPLIT = 2
PASSWORD = "bench-Password-9f2c1e"
SEEDED_TODOS = 100
CONNECTIONS = 50
THREADS = 2
# Run again with this many instances of each service, to measure how throughput scales.
SCALED_INSTANCES = 2
SCALING_SCENARIOS = ("list", "create", "login")
# Run first, on the stack started with the list's rendered-page cache off: the list rendered on every request, by
# turns with its 304 (answered before the page cache is asked, so the same either way) and the floor, so that
# "304 / list rendered each time" and "rendered / floor" are read side by side, not across a restart.
RENDERED_SCENARIOS = ("list_rendered", "list_304", "floor_rendered")
RENDERED_ENV = {"TODO_LIST_PAGE_CACHE_BYTES": "0"}
# Run again with tracing on (every span exported over OTLP/HTTP to a sink that discards it), to show its cost.
TRACING_SCENARIOS = ("list", "create")

# What the stack runs with during the benchmark; the report prints it. The gateway's rate limits are lifted
# because all the load comes from one address; the login throttles stay on (only failed logins spend them).
STACK_ENV = {
    "DJANGO_ENV": "production",
    "GATEWAY_RATE_LIMITS": "off",
    # The stack's default; BENCH_GATEWAY_UPSTREAM=tcp measures the gateway over loopback TCP instead.
    "GATEWAY_UPSTREAM": os.environ.get("BENCH_GATEWAY_UPSTREAM") or "unix",
    "JWT_ACCESS_TOKEN_LIFETIME": "3600",
    "STACK_VAR_DIR": str(VAR_DIR),
    "GATEWAY_PORT": str(PORTS["gateway"]),
    "AUTH_PORT": str(PORTS["auth"]),
    "TODO_PORT": str(PORTS["todo"]),
    "AUTH_DATABASE_URL": f"{POSTGRES_URL}/{DATABASES['auth']}",
    "TODO_DATABASE_URL": f"{POSTGRES_URL}/{DATABASES['todo']}",
}
# The benchmark's stack has a virtual host of its own on the broker (made when missing, kept like its databases, and
# named after its todo database, so two benchmarks on one machine have one each): in the default one its outbox relay
# and event consumer would share the exchange and the queue with a `make up` stack running beside it, and each
# consumer would take, and apply to its own database, the other stack's events.
# BENCH_AMQP_URL names a broker and virtual host to use as they are.
BENCH_VHOST = f"bench-{DATABASES['todo']}"
BENCH_AMQP_URL = os.environ.get("BENCH_AMQP_URL", "")
STACK_ENV["AMQP_URL"] = BENCH_AMQP_URL or f"amqp://guest:guest@127.0.0.1:5672/{BENCH_VHOST}"


@dataclass
class Scenario:
    """One request shape driven by wrk against the gateway or straight at a service."""

    key: str
    title: str
    port: str
    method: str
    paths: list[str]
    expect: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    refresh_tokens: int = 0
    connections: int = CONNECTIONS


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def http_json(method: str, url: str, payload: dict | None = None, token: str | None = None) -> tuple[int, dict, dict]:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            return response.status, dict(response.headers), json.loads(body) if body else {}
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, dict(error.headers), json.loads(body) if body else {}


def psql(sql: str) -> str:
    result = subprocess.run(
        ["psql", f"{POSTGRES_URL}/postgres", "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def check_tools() -> None:
    for tool in ("wrk", "hey"):
        if shutil.which(tool):
            continue
        if os.geteuid() == 0 and shutil.which("apt-get"):
            say(f"installing {tool} (Debian package)")
            subprocess.run(["apt-get", "install", "-y", "-qq", tool], check=True)
        else:
            sys.exit(f"bench: {tool} is missing; install the Debian package: sudo apt-get install {tool}")
    try:
        psql("select 1")
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        sys.exit(f"bench: PostgreSQL at {POSTGRES_URL} does not answer ({error}); set BENCH_POSTGRES_URL")
    if not BENCH_AMQP_URL:
        ensure_broker_vhost()


def rabbitmqctl(*arguments: str) -> str:
    program = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    result = subprocess.run([program, "--quiet", *arguments], check=True, capture_output=True, text=True, timeout=120)
    return result.stdout


def ensure_broker_vhost() -> None:
    """The benchmark's own virtual host on the local broker, with rights for guest (BENCH_VHOST says why)."""
    try:
        if BENCH_VHOST not in rabbitmqctl("list_vhosts", "name").split():
            say(f"creating the broker's virtual host {BENCH_VHOST!r} for the benchmark's stack")
            rabbitmqctl("add_vhost", BENCH_VHOST)
        rabbitmqctl("set_permissions", "-p", BENCH_VHOST, "guest", ".*", ".*", ".*")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError) as error:
        sys.exit(
            f"bench: could not make the broker's virtual host {BENCH_VHOST!r} with rabbitmqctl ({error}); run as "
            "root (rabbitmqctl needs the broker's Erlang cookie), or set BENCH_AMQP_URL to a broker URL with a "
            "virtual host of the benchmark's own"
        )


def stack(command: str, instances: int = 1, extra_env: dict[str, str] | None = None) -> None:
    counts = {"AUTH_INSTANCES": str(instances), "TODO_INSTANCES": str(instances)}
    env = os.environ | STACK_ENV | counts | (extra_env or {})
    subprocess.run([sys.executable, str(REPO / "scripts" / "stack.py"), command], check=True, env=env)


class _DiscardSpans(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that accepts every export and keeps nothing: the cost measured is the services'."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class Floor:
    """The bare DRF ListAPIView (scripts/bench_floor/) under `gunicorn -w 2`, on the todo service's database."""

    def __init__(self, owner_id: str) -> None:
        env = os.environ | {
            "BENCH_FLOOR_DATABASE_URL": f"{POSTGRES_URL}/{DATABASES['todo']}",
            "BENCH_FLOOR_OWNER_ID": owner_id,
            "BENCH_FLOOR_ROWS": "20",
            "DJANGO_SETTINGS_MODULE": "bench_floor.settings",
        }
        gunicorn = REPO / ".venvs" / "todo" / "bin" / "gunicorn"
        bind = f"127.0.0.1:{PORTS['floor']}"
        command = [str(gunicorn), "-w", str(FLOOR_WORKERS), "-b", bind, "--access-logfile", "-", "bench_floor.wsgi"]
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        self.log = (VAR_DIR / "floor.log").open("ab")
        self.process = subprocess.Popen(
            command, cwd=REPO / "scripts", env=env, stdout=subprocess.DEVNULL, stderr=self.log
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, _ = http_json("GET", f"http://{bind}/floor/todos/")
                if status == HTTPStatus.OK:
                    return
            except (urllib.error.URLError, ConnectionError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                sys.exit(f"bench: the floor did not start (see {VAR_DIR / 'floor.log'})")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


def token_subject(access: str) -> str:
    """The `sub` of an access token (read, not verified: the benchmark minted it a moment ago)."""
    payload = access.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def fresh_databases() -> None:
    for name in DATABASES.values():
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        psql(f"CREATE DATABASE {name}")


def login(gateway: str, username: str) -> dict:
    status, _, body = http_json("POST", f"{gateway}/auth/login/", {"username": username, "password": PASSWORD})
    if status != 200:
        sys.exit(f"bench: login failed with {status}: {body}")
    return body


def seed(gateway: str) -> dict:
    """Register the benchmark's user, give it todos, and return what the scenarios need."""
    username = "bench-user"
    status, _, body = http_json(
        "POST", f"{gateway}/auth/register/", {"username": username, "email": "bench@example.com", "password": PASSWORD}
    )
    if status != 201:
        sys.exit(f"bench: registration failed with {status}: {body}")
    access = login(gateway, username)["access"]
    todo_ids = []
    for number in range(SEEDED_TODOS):
        status, _, body = http_json(
            "POST", f"{gateway}/todos/", {"title": f"todo {number}", "description": "seeded", "order": number}, access
        )
        if status != 201:
            sys.exit(f"bench: seeding todos failed with {status}: {body}")
        todo_ids.append(body["id"])
    status, headers, _ = http_json("GET", f"{gateway}/todos/{todo_ids[0]}/", token=access)
    etag = headers.get("ETag")
    if status != 200 or not etag:
        sys.exit(f"bench: reading a todo failed with {status} (ETag {etag!r})")
    status, headers, _ = http_json("GET", f"{gateway}/todos/?page_size=20", token=access)
    list_etag = headers.get("ETag")
    if status != 200 or not list_etag:
        sys.exit(f"bench: reading the list failed with {status} (ETag {list_etag!r})")
    return {"username": username, "access": access, "todo_ids": todo_ids, "etag": etag, "list_etag": list_etag}


def scenarios(seeded: dict) -> list[Scenario]:
    bearer = {"Authorization": f"Bearer {seeded['access']}"}
    json_bearer = bearer | {"Content-Type": "application/json"}
    first = seeded["todo_ids"][0]
    login_body = json.dumps({"username": seeded["username"], "password": PASSWORD})
    return [
        Scenario("list", "GET /todos/ (20 per page), gateway", "gateway", "GET", ["/todos/?page_size=20"], 200, bearer),
        Scenario(
            "list_direct",
            "GET /todos/ (20), straight to gunicorn",
            "todo",
            "GET",
            ["/todos/?page_size=20"],
            200,
            bearer,
        ),
        Scenario(
            "list_rendered",
            "GET /todos/ (20), page cache off (rendered each time), gateway",
            "gateway",
            "GET",
            ["/todos/?page_size=20"],
            200,
            bearer,
        ),
        Scenario(
            "list_304",
            "GET /todos/ (20) If-None-Match (304), gateway",
            "gateway",
            "GET",
            ["/todos/?page_size=20"],
            304,
            bearer | {"If-None-Match": seeded["list_etag"]},
        ),
        Scenario(
            "floor",
            "floor: bare DRF ListAPIView (20 rows, no auth), gunicorn -w 2",
            "floor",
            "GET",
            ["/floor/todos/"],
            200,
        ),
        Scenario(
            "floor_rendered",
            "floor, by turns with the list rendered each time and its 304",
            "floor",
            "GET",
            ["/floor/todos/"],
            200,
        ),
        Scenario(
            "detail",
            "GET /todos/{id}/",
            "gateway",
            "GET",
            [f"/todos/{i}/" for i in seeded["todo_ids"][:20]],
            200,
            bearer,
        ),
        Scenario(
            "detail_304",
            "GET /todos/{id}/ If-None-Match (304)",
            "gateway",
            "GET",
            [f"/todos/{first}/"],
            304,
            bearer | {"If-None-Match": seeded["etag"]},
        ),
        Scenario(
            "create",
            "POST /todos/",
            "gateway",
            "POST",
            ["/todos/"],
            201,
            json_bearer,
            json.dumps({"title": "from the benchmark", "description": "load"}),
        ),
        Scenario(
            "patch",
            "PATCH /todos/{id}/",
            "gateway",
            "PATCH",
            [f"/todos/{i}/" for i in seeded["todo_ids"][20:40]],
            200,
            json_bearer,
            json.dumps({"completed": True}),
        ),
        Scenario(
            "login",
            "POST /auth/login/",
            "gateway",
            "POST",
            ["/auth/login/"],
            200,
            {"Content-Type": "application/json"},
            login_body,
        ),
        Scenario(
            "login_2c",
            "POST /auth/login/ at 2 connections (the hash's own latency)",
            "gateway",
            "POST",
            ["/auth/login/"],
            200,
            {"Content-Type": "application/json"},
            login_body,
            connections=2,
        ),
        Scenario(
            "refresh",
            "POST /auth/refresh/",
            "gateway",
            "POST",
            ["/auth/refresh/"],
            200,
            {"Content-Type": "application/json"},
            refresh_tokens=CONNECTIONS + 10,
        ),
        Scenario("healthz", "GET /healthz (nginx alone: the ceiling)", "gateway", "GET", ["/healthz"], 200),
    ]


def run_wrk(scenario: Scenario, seconds: int, gateway: str) -> dict:
    env = os.environ | {
        "BENCH_METHOD": scenario.method,
        "BENCH_PATHS": ",".join(scenario.paths),
        "BENCH_HEADERS": "\n".join(f"{name}: {value}" for name, value in scenario.headers.items()),
        "BENCH_EXPECT": str(scenario.expect),
        "BENCH_THREADS": str(THREADS),
    }
    if scenario.body is not None:
        env["BENCH_BODY"] = scenario.body
    if scenario.refresh_tokens:
        # refresh tokens rotate: every run needs a fresh pool, one token per connection and a margin
        env["BENCH_REFRESH_TOKENS"] = ",".join(
            login(gateway, "bench-user")["refresh"] for _ in range(scenario.refresh_tokens)
        )
    url = f"http://127.0.0.1:{PORTS[scenario.port]}"
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{scenario.connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH_RESULT "))
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(
        result[key] for key in ("unexpected_status", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return result


def run_hey(scenario: Scenario, seconds: int) -> dict:
    """The scenario at a constant offered rate (hey -q, per worker): latency as users feel it, not saturation."""
    command = ["hey", "-z", f"{seconds}s", "-c", str(FIXED_RATE_WORKERS), "-q", str(FIXED_RATE_PER_WORKER)]
    command += ["-m", scenario.method, "-t", "5"]
    for name, value in scenario.headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{PORTS[scenario.port]}{scenario.paths[0]}")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return parse_hey(output, scenario.expect)


def parse_hey(output: str, expect: int) -> dict:
    """hey's text summary: rate, latency percentiles, statuses and errors."""
    result: dict = {"offered_rps": FIXED_RATE_WORKERS * FIXED_RATE_PER_WORKER, "unexpected_status": 0, "errors": 0}
    section = ""
    for raw in output.splitlines():
        line = raw.strip()
        if line.endswith(":") and not line[0].isdigit():
            section = line
        elif line.startswith("Requests/sec:"):
            result["rps"] = float(line.split()[1])
        elif section == "Latency distribution:" and "% in " in line:
            percent, seconds = line.split("% in ")
            result[f"p{percent}_ms"] = float(seconds.split()[0]) * 1000
        elif section == "Status code distribution:" and line.startswith("["):
            code, count = line[1:].split("]")
            responses = int(count.split()[0])
            result["requests"] = result.get("requests", 0) + responses
            if int(code) != expect:
                result["unexpected_status"] += responses
        elif section == "Error distribution:" and line.startswith("["):
            result["errors"] += int(line[1:].split("]")[0])
    result["errors"] += result["unexpected_status"]
    return result


def measure_fixed_rate(chosen: list[Scenario], seconds: int) -> list[dict]:
    """Each fixed-rate scenario at FIXED_RATE_WORKERS x FIXED_RATE_PER_WORKER req/s, printed as it runs."""
    results = []
    for scenario in chosen:
        if scenario.key not in FIXED_RATE_SCENARIOS:
            continue
        rate = FIXED_RATE_WORKERS * FIXED_RATE_PER_WORKER
        say(f"{scenario.title}: {seconds}s at a constant {rate} req/s (hey -c {FIXED_RATE_WORKERS} -q 50)")
        run = run_hey(scenario, seconds)
        print(
            f"    {run.get('rps', 0):8.0f} req/s  p50 {run.get('p50_ms', 0):6.1f} ms  "
            f"p99 {run.get('p99_ms', 0):6.1f} ms  errors {run['errors']}"
        )
        results.append({"key": scenario.key, "title": scenario.title} | run)
    return results


def stack_processes() -> dict[str, list[int]]:
    """Every process the benchmark's stack runs, by role: each pid file's process and its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    roots: dict[int, str] = {}
    for pid_file in sorted(VAR_DIR.rglob("*.pid")):
        try:
            roots[int(pid_file.read_text().split()[0])] = pid_file.stem
        except (OSError, ValueError, IndexError):
            continue
    roles: dict[str, list[int]] = {}
    for root, role in roots.items():
        tree, pending = [], [root]
        while pending:
            pid = pending.pop()
            tree.append(pid)
            # The supervisor is every process's parent: a process with a pid file of its own is its own role,
            # never counted again in the supervisor's.
            pending.extend(child for child in children.get(pid, []) if child not in roots)
        roles[role] = tree
    backends = psql(
        "SELECT pid FROM pg_stat_activity WHERE datname IN ("
        + ",".join(f"'{name}'" for name in DATABASES.values())
        + ")"
    )
    roles["postgres-backends"] = [int(pid) for pid in backends.split()]
    return roles


def proc_memory_mb(pid: int, source: str, field: str) -> float | None:
    """A memory figure (in kB in the file) of a process from /proc, in MB; None once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def peak_memory_mb(pid: int) -> float | None:
    """The process's peak resident size."""
    return proc_memory_mb(pid, "status", "VmHWM")


def proportional_memory_mb(pid: int) -> float | None:
    """The process's share of memory (PSS): private pages, plus shared pages divided among their sharers."""
    return proc_memory_mb(pid, "smaps_rollup", "Pss")


class MemorySampler(threading.Thread):
    """Samples the whole stack's memory twice a second while the load runs and keeps the highest total.

    Peak resident sizes cannot be added up: forked gunicorn workers share their master's pages and every
    PostgreSQL backend maps the same shared buffers. The sum of PSS counts each page once.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_total_mb = 0.0
        self.peak_by_role: dict[str, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        samples = 0
        while not self.stopping.wait(0.5):
            # Finding the processes runs psql: every 5 s is enough, as backends and workers live long.
            if samples % 10 == 0:
                roles = stack_processes()
            samples += 1
            by_role = {role: sum(proportional_memory_mb(pid) or 0.0 for pid in pids) for role, pids in roles.items()}
            total = sum(by_role.values())
            if total > self.peak_total_mb:
                self.peak_total_mb, self.peak_by_role = total, by_role

    def stop(self) -> dict:
        self.stopping.set()
        self.join()
        return {
            "peak_total_pss_mb": round(self.peak_total_mb, 1),
            "by_role_at_peak_mb": {role: round(value, 1) for role, value in self.peak_by_role.items()},
        }


def memory_report() -> dict[str, list[dict]]:
    """Each process's peak resident size (VmHWM), by role."""
    report: dict[str, list[dict]] = {}
    for role, pids in stack_processes().items():
        entries = []
        for pid in pids:
            peak = peak_memory_mb(pid)
            if peak is not None:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                entries.append({"pid": pid, "peak_mb": round(peak, 1), "command": command.strip()[:120]})
        report[role] = entries
    return report


def hasher_description() -> str:
    code = (
        "from django.contrib.auth.hashers import get_hasher; h = get_hasher(); "
        "print(h.algorithm, *(f'{k}={getattr(h, k)}' for k in ('memory_cost', 'time_cost', 'parallelism', "
        "'iterations') if hasattr(h, k)))"
    )
    result = subprocess.run(
        [str(REPO / ".venvs" / "auth" / "bin" / "python"), "manage.py", "shell", "-c", code],
        cwd=REPO / "auth_project",
        capture_output=True,
        text=True,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "config.settings.local"},
    )
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else f"unknown ({result.stderr.strip()[-200:]})"


def print_run(run: dict, label: str = "") -> None:
    print(
        f"    {run['rps']:8.0f} req/s  p50 {run['p50_us'] / 1000:6.1f} ms  "
        f"p99 {run['p99_us'] / 1000:6.1f} ms  errors {run['errors']}{label}"
    )


def stored(scenario: Scenario, runs: list[dict]) -> dict:
    # header names only: the report must not carry the benchmark's bearer token
    return {"scenario": asdict(scenario) | {"headers": sorted(scenario.headers)}, "runs": runs}


def measure(chosen: list[Scenario], gateway: str, warmup: int, seconds: int, repeats: int) -> list[dict]:
    """Warm up and run each scenario, printing each run; the results as the report stores them, in chosen's order.

    The INTERLEAVED_SCENARIOS among them run first, by turns (measure_by_turns); the others one after another."""
    by_turns = [scenario for scenario in chosen if scenario.key in INTERLEAVED_SCENARIOS]
    results = {}
    if len(by_turns) > 1:
        results |= measure_by_turns(by_turns, gateway, warmup, seconds, repeats)
    for scenario in chosen:
        if scenario.key in results:
            continue
        say(f"{scenario.title}: warm-up {warmup}s, then {repeats} x {seconds}s at {scenario.connections} connections")
        run_wrk(scenario, warmup, gateway)
        runs = [run_wrk(scenario, seconds, gateway) for _ in range(repeats)]
        for run in runs:
            print_run(run)
        results[scenario.key] = stored(scenario, runs)
    return [results[scenario.key] for scenario in chosen]


def measure_by_turns(chosen: list[Scenario], gateway: str, warmup: int, seconds: int, repeats: int) -> dict[str, dict]:
    """Warm each scenario up, then run them by turns: INTERLEAVE_SPLIT x repeats rounds of runs INTERLEAVE_SPLIT times
    shorter, each round starting one scenario further on, so no scenario always follows the same one."""
    rounds = repeats * INTERLEAVE_SPLIT if seconds >= 2 * INTERLEAVE_SPLIT else repeats
    run_seconds = max(1, seconds // (rounds // repeats))
    names = ", ".join(scenario.key for scenario in chosen)
    say(f"by turns ({names}): warm-up {warmup}s each, then {rounds} rounds of {run_seconds}s each")
    for scenario in chosen:
        run_wrk(scenario, warmup, gateway)
    runs: dict[str, list[dict]] = {scenario.key: [] for scenario in chosen}
    for number in range(rounds):
        for scenario in chosen[number % len(chosen) :] + chosen[: number % len(chosen)]:
            run = run_wrk(scenario, run_seconds, gateway) | {"round": number}
            runs[scenario.key].append(run)
            print_run(run, f"  round {number + 1}: {scenario.key}")
    return {scenario.key: stored(scenario, runs[scenario.key]) for scenario in chosen}


def measure_scaled(gateway: str, warmup: int, seconds: int, repeats: int, only: set[str]) -> dict:
    """Start the stack again with SCALED_INSTANCES of each service and run the scaling scenarios on it."""
    say(f"restarting the stack with {SCALED_INSTANCES} instances per service, on fresh databases")
    stack("down")
    # The first run's writes grew the user's list tenfold: fresh data, or the list would be compared unfairly.
    fresh_databases()
    stack("up", instances=SCALED_INSTANCES)
    seeded = seed(gateway)
    chosen = [scenario for scenario in scenarios(seeded) if scenario.key in SCALING_SCENARIOS and scenario.key in only]
    return {"instances": SCALED_INSTANCES, "results": measure(chosen, gateway, warmup, seconds, repeats)}


def measure_traced(gateway: str, warmup: int, seconds: int, repeats: int, only: set[str]) -> dict:
    """Start the stack again exporting every span (OTEL_EXPORTER_OTLP_ENDPOINT) and run the tracing scenarios."""
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _DiscardSpans)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
    say(f"restarting the stack with tracing on (spans exported to {endpoint}, which discards them), on fresh databases")
    stack("down")
    fresh_databases()
    try:
        stack("up", extra_env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
        seeded = seed(gateway)
        chosen = [scenario for scenario in scenarios(seeded) if scenario.key in set(TRACING_SCENARIOS) & only]
        return {"results": measure(chosen, gateway, warmup, seconds, repeats)}
    finally:
        stack("down")
        sink.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, once each: under a minute")
    parser.add_argument("--seconds", type=int, help="length of each measured run (default 10, quick 2)")
    parser.add_argument("--keep", action="store_true", help="leave the benchmark's stack running afterwards")
    parser.add_argument("--only", help="comma-separated scenario keys to run (default: all)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the run with two instances per service")
    parser.add_argument("--no-tracing", action="store_true", help="skip the run with tracing on")
    options = parser.parse_args()
    seconds = options.seconds or (2 if options.quick else 10)
    repeats = 1 if options.quick else 2
    warmup = 1 if options.quick else 3

    started = time.monotonic()
    check_tools()
    machine = bench_report.machine_description()
    say("stopping any earlier benchmark stack and recreating its databases")
    stack("down")
    fresh_databases()
    only = set(options.only.split(",")) if options.only else None
    rendering = only is None or bool(only & set(RENDERED_SCENARIOS))
    if rendering:
        say(
            f"starting the stack with the list's page cache off ({RENDERED_ENV}): production settings, PostgreSQL, "
            "rate limits lifted"
        )
    else:
        say("starting the stack: production settings, PostgreSQL, rate limits lifted")
    stack("up", extra_env=RENDERED_ENV if rendering else None)
    gateway = f"http://127.0.0.1:{PORTS['gateway']}"
    try:
        say(f"seeding a user and {SEEDED_TODOS} todos")
        seeded = seed(gateway)
        chosen = scenarios(seeded)
        wanted = only or {scenario.key for scenario in chosen}
        # The rendered list is read against the floor it runs by turns with.
        if "list_rendered" in wanted:
            wanted = wanted | {"floor_rendered"}
        order = {scenario.key: index for index, scenario in enumerate(chosen)}
        rendered = [scenario for scenario in chosen if scenario.key in wanted and scenario.key in RENDERED_SCENARIOS]
        chosen = [scenario for scenario in chosen if scenario.key in wanted and scenario.key not in RENDERED_SCENARIOS]
        say(f"starting the floor (bare DRF ListAPIView, gunicorn -w {FLOOR_WORKERS}) on port {PORTS['floor']}")
        floor = Floor(token_subject(seeded["access"]))
        try:
            # Everything reading the list runs before the writing scenarios, while it holds the seeded rows only.
            fixed_rate = measure_fixed_rate(rendered, seconds)
            results = measure(rendered, gateway, warmup, seconds, repeats)
            if rendering and chosen:
                # Processes restarted, nothing else: the same databases, rows, token and floor.
                say("restarting the stack with the list's page cache on, on the same databases")
                stack("down")
                stack("up")
            fixed_rate += measure_fixed_rate(chosen, seconds)
            sampler = MemorySampler()
            sampler.start()
            results += measure(chosen, gateway, warmup, seconds, repeats)
            memory = memory_report()
            stack_memory = sampler.stop()
        finally:
            floor.stop()
        # In the scenarios' order, list_rendered beside the list, whatever ran first.
        results.sort(key=lambda result: order[result["scenario"]["key"]])
        fixed_rate.sort(key=lambda row: order[row["key"]])
        scaled = measure_scaled(gateway, warmup, seconds, repeats, wanted) if not options.no_scaling else None
        traced = measure_traced(gateway, warmup, seconds, repeats, wanted) if not options.no_tracing else None
    finally:
        if not options.keep:
            say("stopping the benchmark stack")
            stack("down")
    report = {
        "settings": {
            "connections": CONNECTIONS,
            "threads": THREADS,
            "seconds": seconds,
            "repeats": repeats,
            "warmup_seconds": warmup,
            "stack_env": {key: value for key, value in STACK_ENV.items() if "URL" not in key}
            | {"databases": "PostgreSQL"},
            "gunicorn": {key: os.environ[key] for key in ("GUNICORN_WORKERS", "GUNICORN_THREADS") if key in os.environ},
            # The page cache of every scenario but list_rendered (the service's default unless the environment sets
            # it); list_rendered's: RENDERED_ENV.
            "page_cache_bytes": os.environ.get("TODO_LIST_PAGE_CACHE_BYTES", "default"),
            "rendered_env": RENDERED_ENV,
            "hasher": hasher_description(),
            "quick": options.quick,
        },
        "machine": machine,
        "results": results,
        "fixed_rate": fixed_rate,
        "scaling": scaled,
        "tracing": traced,
        "memory": memory,
        "stack_memory": stack_memory,
        "elapsed_seconds": round(time.monotonic() - started, 1),
    }
    bench_report.write(report, REPO / "docs")
    summary = {result["scenario"]["key"]: bench_report.summarise(result) for result in report["results"]}
    for label, value in bench_report.ratios(summary):
        print(f"    {label}: {value:.2f}")
    for row in report["fixed_rate"]:
        print(
            f"    {row['title']} at {row['offered_rps']} req/s: p50 {row.get('p50_ms', 0):.1f} ms, "
            f"p99 {row.get('p99_ms', 0):.1f} ms, {row['errors']} errors"
        )
    for row in bench_report.scaling_rows(report):
        print(f"    {row['title']}: x{row['factor']:.2f} with {row['instances']} instances per service")
    for row in bench_report.tracing_rows(report):
        print(f"    {row['title']}: x{row['factor']:.2f} with tracing on")
    say(f"done in {report['elapsed_seconds']} s: docs/benchmarks.md, docs/benchmarks.json, docs/benchmarks.png")


if __name__ == "__main__":
    main()
