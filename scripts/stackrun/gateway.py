"""Render the gateway's nginx templates for the local stack, check them with `nginx -t`, find nginx."""

import os
import re
import shutil
import socket
import stat
import subprocess
from pathlib import Path

from . import components
from .config import JWT_AUDIENCE, JWT_ISSUER, REPO, StackConfig, StackError, say

NGINX_DIR = REPO / "nginx"
# The njs module (Debian's libnginx-mod-http-js) that nginx.conf loads from modules/ under its prefix, for the
# token check in nginx/njs/.
NJS_MODULE = "ngx_http_js_module.so"
NJS_PACKAGE = "libnginx-mod-http-js"
DEFAULT_MODULES_DIR = Path("/usr/lib/nginx/modules")
DEFAULT_USER_RATE_LIMIT = "50r/s"
DEFAULT_USER_RATE_BURST = "100"
TEMPLATE_SUFFIX = ".template"
# Template values are ${UPPER_CASE}; nginx's own variables are lower case ($host, ${request_id}).
TEMPLATE_VALUE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
BARE_UPPER_CASE = re.compile(r"\$[A-Z]")
# A value goes into a directive as it is: nothing that could end it or open a block.
UNSAFE_VALUE = re.compile(r"[;{}\"'$\\\n\r]")


def upstream_servers(config: StackConfig, service: str) -> list[str]:
    """One `server` address per instance of a service: its Unix socket (GATEWAY_UPSTREAM=unix) or its port."""
    return [
        f"unix:{socket}" if (socket := config.socket_path(instance.name)) else f"127.0.0.1:{instance.port(config)}"
        for instance in components.http_instances(config, service)
    ]


def free_loopback_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def verifier_address(config: StackConfig) -> str:
    """Where the gateway's token verifier listens: its Unix socket (GATEWAY_UPSTREAM=unix), else a free port."""
    socket_file = config.verifier_socket
    return f"unix:{socket_file}" if socket_file else f"127.0.0.1:{free_loopback_port()}"


def remove_stale_verifier_socket(config: StackConfig) -> None:
    """nginx removes its listening socket's file when it exits, but not when it is killed, and will not start on one
    left behind ("Address already in use"): called before each start of the gateway, which is then not running."""
    socket_file = config.verifier_socket
    if socket_file is not None:
        socket_file.unlink(missing_ok=True)


def template_values(config: StackConfig) -> dict[str, str | list[str]]:
    """The value of every template variable for the local stack (the table in docs/gateway.md).

    A list value repeats the template line that names it once per item: one `server` line per instance.
    """
    return {
        "GATEWAY_LISTEN": f"127.0.0.1:{config.gateway_port}",
        "GATEWAY_AUTH_UPSTREAM": "auth_service",
        "GATEWAY_TODO_UPSTREAM": "todo_service",
        "GATEWAY_AUTH_SERVER": upstream_servers(config, "auth"),
        "GATEWAY_TODO_SERVER": upstream_servers(config, "todo"),
        # Unused locally: both upstreams name an upstream block, so nothing is resolved at run time.
        "GATEWAY_RESOLVER": "127.0.0.1",
        "GATEWAY_CORS_ALLOWED_ORIGINS": config.cors_origins,
        "GATEWAY_RATE_LIMITS": config.rate_limits,
        "GATEWAY_ACCESS_LOG": str(config.log_files()["nginx-access"]),
        "GATEWAY_TEMP_DIR": str(config.nginx_dir / "temp"),
        # What the token check expects: the values the services read.
        "GATEWAY_JWT_ISSUER": config.environ.get("JWT_ISSUER") or JWT_ISSUER,
        "GATEWAY_JWT_AUDIENCE": config.environ.get("JWT_AUDIENCE") or JWT_AUDIENCE,
        "GATEWAY_JWT_LEEWAY": config.environ.get("JWT_LEEWAY") or "0",
        # The gateway's own token verifier (token_check.conf): a Unix socket in the private socket folder, as the
        # services' (one hop of every checked request: a socket costs less than loopback TCP), else any free port.
        "GATEWAY_VERIFIER_ADDRESS": verifier_address(config),
        "GATEWAY_USER_RATE_LIMIT": config.environ.get("GATEWAY_USER_RATE_LIMIT") or DEFAULT_USER_RATE_LIMIT,
        "GATEWAY_USER_RATE_BURST": config.environ.get("GATEWAY_USER_RATE_BURST") or DEFAULT_USER_RATE_BURST,
    }


def _render_line(line: str, values: dict[str, str | list[str]]) -> str:
    """One template line, written once per item when it names a list value (at most one list per line)."""
    lists = sorted({name for name in TEMPLATE_VALUE.findall(line) if isinstance(values[name], list)})
    if len(lists) > 1:
        raise StackError(f"a template line may repeat over one list value, not {lists}: {line.strip()}")
    if not lists:
        return TEMPLATE_VALUE.sub(lambda match: str(values[match.group(1)]), line)
    rendered = []
    for item in values[lists[0]]:
        single = {**values, lists[0]: item}
        rendered.append(TEMPLATE_VALUE.sub(lambda match, single=single: str(single[match.group(1)]), line))
    return "".join(rendered)


def render_text(text: str, values: dict[str, str | list[str]], source: str) -> str:
    """Substitute ${NAME} from values, as the nginx image's envsubst does, failing on any unknown name."""
    if BARE_UPPER_CASE.search(text):
        raise StackError(f"{source}: write template values as ${{NAME}}, with braces")
    missing = sorted({name for name in TEMPLATE_VALUE.findall(text) if name not in values})
    if missing:
        raise StackError(f"{source} uses {', '.join(missing)}, which the local stack does not define")
    return "".join(_render_line(line, values) for line in text.splitlines(keepends=True))


def render(config: StackConfig, template_dir: Path = NGINX_DIR / "templates") -> Path:
    """Write nginx.conf and conf.d/ (rendered templates) under var/nginx/; return the nginx.conf path."""
    values = template_values(config)
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if UNSAFE_VALUE.search(item):
                raise StackError(f"{name}={item!r} contains a character nginx would misread (; {{ }} quotes $ \\)")
    say(f"rendering the gateway configuration into {config.nginx_dir}")
    conf_dir = config.nginx_dir / "conf.d"
    if conf_dir.exists():
        shutil.rmtree(conf_dir)
    for template in sorted(template_dir.rglob(f"*.conf{TEMPLATE_SUFFIX}")):
        relative = template.relative_to(template_dir)
        target = conf_dir / relative.parent / relative.name.removesuffix(TEMPLATE_SUFFIX)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_text(template.read_text(), values, str(template.relative_to(REPO))))
    (config.nginx_dir / "temp").mkdir(parents=True, exist_ok=True)
    check_workers_reach(config.nginx_dir / "temp")
    njs_dir = config.nginx_dir / "njs"
    if njs_dir.exists():
        shutil.rmtree(njs_dir)
    shutil.copytree(NGINX_DIR / "njs", njs_dir)
    modules = config.nginx_dir / "modules"
    if modules.is_symlink() or modules.exists():
        modules.unlink()
    modules.symlink_to(modules_dir())
    main_config = config.nginx_dir / "nginx.conf"
    shutil.copyfile(NGINX_DIR / "nginx.conf", main_config)
    return main_config


def check_workers_reach(temp_dir: Path) -> None:
    """Started as root, nginx runs its workers as nobody, and they write the JWKS cache under temp/: every folder
    above it must let others in, or every token check would fail for want of keys."""
    if os.geteuid() != 0:
        return
    for folder in [temp_dir, *temp_dir.parents]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            raise StackError(
                f"{folder} is private to root, so nginx's workers (user nobody) cannot reach {temp_dir}, where they "
                "keep the auth service's keys: put the stack's var folder (STACK_VAR_DIR) where others may enter"
            )


def modules_dir() -> Path:
    """Where this machine's nginx keeps its dynamic modules (`nginx -V`'s --modules-path; Debian's by default)."""
    nginx = find_nginx()
    if nginx:
        completed = subprocess.run([nginx, "-V"], capture_output=True, text=True, check=False)
        found = re.search(r"--modules-path=(\S+)", completed.stderr)
        if found:
            return Path(found.group(1))
    return DEFAULT_MODULES_DIR


def command_line(config: StackConfig, nginx: str, *extra: str, foreground: bool = False) -> list[str]:
    """nginx with its prefix, config, error log and pid file under var/, never in the system's folders."""
    main = f"pid {config.pid_file('nginx')};" + (" daemon off;" if foreground else "")
    return [
        nginx,
        "-p",
        f"{config.nginx_dir}/",
        "-c",
        "nginx.conf",
        "-e",
        str(config.log_files()["nginx-error"]),
        "-g",
        main,
        *extra,
    ]


def check(config: StackConfig, nginx: str) -> None:
    """Run `nginx -t` on the rendered configuration and stop with nginx's own message when it fails."""
    say("checking the gateway configuration (nginx -t)")
    completed = subprocess.run(command_line(config, nginx, "-t", "-q"), capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise StackError(f"nginx -t refused the rendered configuration:\n{completed.stderr.strip()}")


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None
    )


def ensure_nginx() -> str:
    """Return nginx's path; install the Debian packages (nginx, its njs module) first when missing and we may."""
    nginx = find_nginx()
    if nginx and (modules_dir() / NJS_MODULE).exists():
        return nginx
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError(
            f"nginx with its njs module is not installed. Install the Debian packages 'nginx' and '{NJS_PACKAGE}' "
            f"(sudo apt-get install nginx {NJS_PACKAGE}) or your system's nginx (1.22 or newer) and njs (0.7 or "
            "newer), then run make up again."
        )
    say(f"installing nginx and its njs module (apt-get install nginx {NJS_PACKAGE})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx", NJS_PACKAGE], env=env, check=True
    )
    nginx = find_nginx()
    if not nginx:
        raise StackError("apt-get installed nginx, but no nginx program was found on PATH or in /usr/sbin")
    return nginx
