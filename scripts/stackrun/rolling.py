"""`make restart`: restart every instance one at a time, each after the one before is ready again."""

import os
import time

from . import components
from .components import Instance
from .config import StackConfig, StackError, say
from .processes import START_TIMEOUT, STOP_TIMEOUT, alive, http_status, instance_pid, supervisor_pid

# A process without a health endpoint counts as started when it is still running this long after its start.
SETTLE_TIME = 1.0
# The gateway leaves an instance alone for fail_timeout (2 s, nginx/templates/upstreams.conf) after a refused
# connection, counted in whole seconds: the next instance stops only once the gateway sends to this one again,
# or both would be out of its rotation at once ("no live upstreams", a 502 for everyone).
GATEWAY_READMIT_TIME = 3.5


def _wait_for_new_pid(config: StackConfig, instance: Instance, old_pid: int) -> int:
    """The pid of the instance the supervisor started in place of old_pid."""
    deadline = time.monotonic() + STOP_TIMEOUT + START_TIMEOUT
    while time.monotonic() < deadline:
        pid = instance_pid(config, instance)
        if pid is not None and pid != old_pid:
            return pid
        if supervisor_pid(config) is None:
            raise StackError(f"the supervisor exited while {instance.name} was restarting: make down, then make up")
        time.sleep(0.1)
    raise StackError(f"{instance.name} was not started again within {STOP_TIMEOUT + START_TIMEOUT:.0f} s")


def _wait_until_ready(config: StackConfig, instance: Instance, pid: int) -> None:
    url = instance.health_url(config)
    deadline = time.monotonic() + START_TIMEOUT
    settled = time.monotonic() + SETTLE_TIME
    while time.monotonic() < deadline:
        if not alive(pid):
            raise StackError(f"{instance.name} (pid {pid}) exited during its start: see make logs")
        if url is None and time.monotonic() >= settled:
            return
        if url is not None and http_status(url) == 200:
            return
        time.sleep(0.1)
    raise StackError(f"{instance.name} was not ready within {START_TIMEOUT:.0f} s: see make logs")


def restart_instance(config: StackConfig, instance: Instance) -> None:
    """Stop the instance gracefully; the supervisor starts it again; return once it is ready and back in use.

    A stopping gunicorn refuses new connections at once (gunicorn.conf.py), so the gateway sends them to
    another instance, while the requests in hand finish.
    """
    old_pid = instance_pid(config, instance)
    if old_pid is None:
        raise StackError(f"{instance.name} is not running: make status shows what runs")
    say(f"{instance.name}: stopping pid {old_pid}; the supervisor starts it again")
    os.kill(old_pid, instance.spec.stop_signal)
    new_pid = _wait_for_new_pid(config, instance, old_pid)
    _wait_until_ready(config, instance, new_pid)
    if instance.spec.http:
        time.sleep(GATEWAY_READMIT_TIME)
    say(f"{instance.name}: ready again (pid {new_pid})")


def restart_all(config: StackConfig) -> None:
    if supervisor_pid(config) is None:
        raise StackError("the stack is not running (no supervisor): make up starts it")
    for spec in components.COMPONENTS:
        if spec.service is None:
            continue
        spec_instances = components.instances(config, spec)
        if spec.http and len(spec_instances) == 1:
            say(
                f"{spec.name} has one instance: requests to it fail while it restarts "
                f"({spec.count_variable}=2 or more restarts without an error)"
            )
        for instance in spec_instances:
            restart_instance(config, instance)
