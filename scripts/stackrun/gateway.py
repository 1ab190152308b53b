"""Render the gateway's nginx templates for the local stack, check them with `nginx -t`, find nginx."""

import os
import re
import shutil
import subprocess
from pathlib import Path

from . import components
from .config import REPO, StackConfig, StackError, say

NGINX_DIR = REPO / "nginx"
TEMPLATE_SUFFIX = ".template"
# Template values are ${UPPER_CASE}; nginx's own variables are lower case ($host, ${request_id}).
TEMPLATE_VALUE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
BARE_UPPER_CASE = re.compile(r"\$[A-Z]")
# A value goes into a directive as it is: nothing that could end it or open a block.
UNSAFE_VALUE = re.compile(r"[;{}\"'$\\\n\r]")


def upstream_servers(config: StackConfig, service: str) -> list[str]:
    """One `server` address per instance of a service."""
    return [f"127.0.0.1:{instance.port(config)}" for instance in components.http_instances(config, service)]


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
    main_config = config.nginx_dir / "nginx.conf"
    shutil.copyfile(NGINX_DIR / "nginx.conf", main_config)
    return main_config


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
    """Return nginx's path; install the Debian package first when it is missing and we may."""
    nginx = find_nginx()
    if nginx:
        return nginx
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError(
            "nginx is not installed. Install the Debian package 'nginx' (sudo apt-get install nginx) "
            "or your system's nginx package (1.22 or newer), then run make up again."
        )
    say("installing nginx (apt-get install nginx)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx"], env=env, check=True)
    nginx = find_nginx()
    if not nginx:
        raise StackError("apt-get installed nginx, but no nginx program was found on PATH or in /usr/sbin")
    return nginx
