"""Both OpenAPI schemas hold against the real stack: schemathesis finds 0 failures through the gateway.

Every check, the coverage, fuzzing and stateful phases, a bounded number of examples per operation (CI stays
within minutes). The seed is random unless SCHEMATHESIS_SEED is set, and printed: rerun a failure with
`SCHEMATHESIS_SEED=<seed> make test-e2e PYTEST_ARGS="-k schemathesis"`, or replay one stored case against a
running stack with `st replay <id>` (the failure message says where the cases are stored).
"""

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_stack import Client, Stack, User, next_client_address, register_and_login

CONFIG = Path(__file__).with_name("schemathesis.toml")
ST = Path(sys.executable).with_name("st")
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25")


@pytest.fixture(scope="module")
def seed() -> str:
    """One seed for both schemas; every failure message names it."""
    return os.environ.get("SCHEMATHESIS_SEED") or str(random.randrange(2**32))


@pytest.fixture(scope="module")
def fuzz_user(unthrottled_stack: Stack) -> User:
    """Signed in once, before any run, from an address of its own: the fuzzer's failed logins spend the login
    throttle's budget of the address they come from."""
    with Client(unthrottled_stack.url, next_client_address()) as client:
        return register_and_login(client)


@pytest.mark.parametrize("schema_path", ["/auth/schema/", "/todos/schema/"])
def test_schemathesis_finds_no_failure_through_the_gateway(
    unthrottled_stack: Stack, fuzz_user: User, schema_path: str, seed: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            str(ST),
            "--config-file",
            str(CONFIG),
            "run",
            f"{unthrottled_stack.url}{schema_path}",
            "--url",
            unthrottled_stack.url,
            "-H",
            f"Authorization: Bearer {fuzz_user.access}",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            seed,
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )

    report = tmp_path / "schemathesis.txt"
    report.write_text(result.stdout)
    # A fuzzed body can be megabytes long: the message keeps each line short so every failure stays readable.
    summary = "\n".join(
        line if len(line) <= 300 else f"{line[:300]}... ({len(line)} characters)" for line in result.stdout.splitlines()
    )
    assert result.returncode == 0, (
        f"seed {seed}: rerun with SCHEMATHESIS_SEED={seed}; the whole report is {report}; each failing case is stored "
        f"under {tmp_path}/.schemathesis for `st replay <id> --url <gateway> -H 'Authorization: Bearer <token>'` "
        f"against a running stack (make up)\n{summary[-8000:]}"
    )
