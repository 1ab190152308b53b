"""The postgres init script, run on a fresh throwaway cluster the way the postgres image runs it at first start."""

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from container_files import REPO

INIT_SCRIPT = REPO / "compose" / "postgres" / "init" / "10-service-databases.sh"
PASSWORDS = {"auth": "auth-test-password", "todo": "todo-test-password"}


def as_cluster_owner(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run the server tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def cluster() -> Iterator[Path]:
    """A cluster on a Unix socket only, the superuser trusted locally and every other role asked for a password."""
    if not shutil.which("initdb") or not shutil.which("pg_ctl"):
        pytest.skip("the PostgreSQL server tools (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0 and not _user_exists("postgres"):
        pytest.skip("running as root without a postgres user to own the cluster")
    directory = Path(tempfile.mkdtemp(prefix="compose-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, user="postgres")
    data = directory / "data"
    subprocess.run(
        as_cluster_owner(["initdb", "--no-sync", "--auth=trust", "--username=postgres", "-D", str(data)]),
        capture_output=True,
        check=True,
    )
    (data / "pg_hba.conf").write_text("local all postgres trust\nlocal all all scram-sha-256\n")
    options = f"-c listen_addresses='' -k {directory} -c fsync=off"
    subprocess.run(
        as_cluster_owner(["pg_ctl", "-D", str(data), "-o", options, "-w", "-l", str(directory / "log"), "start"]),
        capture_output=True,
        check=True,
    )
    try:
        subprocess.run(
            ["bash", str(INIT_SCRIPT)],
            env={
                **os.environ,
                "PGHOST": str(directory),
                "POSTGRES_USER": "postgres",
                "POSTGRES_DB": "postgres",
                "AUTH_DB_PASSWORD": PASSWORDS["auth"],
                "TODO_DB_PASSWORD": PASSWORDS["todo"],
            },
            capture_output=True,
            check=True,
        )
        yield directory
    finally:
        subprocess.run(as_cluster_owner(["pg_ctl", "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def psql(cluster: Path, *, user: str, password: str, database: str, sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-h", str(cluster), "-U", user, "-d", database, "-Atc", sql],
        env={**os.environ, "PGPASSWORD": password},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("service", ["auth", "todo"])
def test_each_service_role_logs_in_to_its_own_database_and_can_create_tables(cluster, service):
    result = psql(
        cluster,
        user=service,
        password=PASSWORDS[service],
        database=service,
        sql="CREATE TABLE probe (id int); SELECT current_user, current_database();",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == f"{service}|{service}"


@pytest.mark.parametrize(("service", "other"), [("auth", "todo"), ("todo", "auth")])
def test_a_service_role_cannot_connect_to_the_other_services_database(cluster, service, other):
    result = psql(cluster, user=service, password=PASSWORDS[service], database=other, sql="SELECT 1")
    assert result.returncode != 0
    assert "permission denied for database" in result.stderr


@pytest.mark.parametrize("database", ["postgres", "template1"])
def test_a_service_role_cannot_connect_to_the_maintenance_databases(cluster, database):
    result = psql(cluster, user="auth", password=PASSWORDS["auth"], database=database, sql="SELECT 1")
    assert result.returncode != 0
    assert "permission denied for database" in result.stderr


def test_a_service_role_with_a_wrong_password_is_refused(cluster):
    result = psql(cluster, user="todo", password="not-the-password", database="todo", sql="SELECT 1")
    assert result.returncode != 0
    assert "password authentication failed" in result.stderr


def test_service_roles_hold_no_special_privileges(cluster):
    result = psql(
        cluster,
        user="postgres",
        password="",
        database="postgres",
        sql="SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication FROM pg_roles "
        "WHERE rolname IN ('auth', 'todo') ORDER BY rolname",
    )
    assert result.stdout.split() == ["auth|f|f|f|f", "todo|f|f|f|f"]


def test_the_init_script_stops_when_a_service_password_is_missing():
    result = subprocess.run(
        ["bash", str(INIT_SCRIPT)],
        env={"PATH": os.environ["PATH"], "AUTH_DB_PASSWORD": "set"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "TODO_DB_PASSWORD must be set" in result.stderr
