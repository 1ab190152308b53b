"""The gateway configuration rendered with the compose values, as the nginx image does at start, passes `nginx -t`."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from container_files import REPO

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# Debian's libnginx-mod-http-js, the njs the gateway's token check needs.
MODULES = Path("/usr/lib/nginx/modules")
TEMPLATES = REPO / "nginx" / "templates"
# Folders of the nginx image that do not exist on this machine: nginx -t opens them, so the check
# points them into its temporary prefix. Every other value is the compose file's own.
IMAGE_PATHS = {"GATEWAY_ACCESS_LOG": "/var/log/nginx/access.log", "GATEWAY_TEMP_DIR": "/var/cache/nginx"}


def envsubst(text: str, defined: dict[str, str]) -> str:
    """`envsubst "$defined_envs"`: only the listed variables are replaced, in $NAME and ${NAME} form."""

    def substitute(match: re.Match) -> str:
        name = match["braced"] or match["bare"]
        return defined[name] if name in defined else match[0]

    return re.sub(r"\$(?:\{(?P<braced>[A-Za-z_]\w*)\}|(?P<bare>[A-Za-z_]\w*))", substitute, text)


def render_like_the_image(environment: dict[str, str], destination: Path) -> Path:
    """docker-entrypoint.d/20-envsubst-on-templates.sh: templates/**/*.template into conf.d/, filtered names."""
    name_filter = re.compile(environment.get("NGINX_ENVSUBST_FILTER", ""))
    defined = {name: value for name, value in environment.items() if name_filter.search(name)}
    conf_dir = destination / "conf.d"
    for template in TEMPLATES.rglob("*.template"):
        relative = template.relative_to(TEMPLATES)
        output = conf_dir / relative.parent / relative.name.removesuffix(".template")
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(envsubst(template.read_text(), defined))
    shutil.copyfile(REPO / "nginx" / "nginx.conf", destination / "nginx.conf")
    # What the compose file mounts beside nginx.conf, and the image's modules/ link under its prefix.
    shutil.copytree(REPO / "nginx" / "njs", destination / "njs")
    (destination / "modules").symlink_to(MODULES)
    return destination


def nginx_test(prefix: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NGINX, "-t", "-p", f"{prefix}/", "-c", "nginx.conf", "-e", str(prefix / "error.log"), "-g", "pid nginx.pid;"],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def gateway_environment(services, tmp_path) -> dict[str, str]:
    environment = dict(services["gateway"]["environment"])
    assert {name: environment[name] for name in IMAGE_PATHS} == IMAGE_PATHS
    environment["GATEWAY_ACCESS_LOG"] = str(tmp_path / "access.log")
    environment["GATEWAY_TEMP_DIR"] = str(tmp_path / "temp")
    (tmp_path / "temp").mkdir()
    return environment


@pytest.fixture(autouse=True)
def _nginx_present():
    if not Path(NGINX).exists() or not (MODULES / "ngx_http_js_module.so").exists():
        pytest.skip("nginx or its njs module is not installed (apt-get install nginx libnginx-mod-http-js)")


def test_the_rendered_compose_configuration_passes_nginx_t(gateway_environment, tmp_path):
    prefix = render_like_the_image(gateway_environment, tmp_path)
    result = nginx_test(prefix)
    assert result.returncode == 0, result.stderr


def test_no_template_variable_is_left_unrendered(gateway_environment, tmp_path):
    prefix = render_like_the_image(gateway_environment, tmp_path)
    leftovers = {
        str(path.relative_to(prefix)): re.findall(r"\$\{?GATEWAY_\w+", path.read_text())
        for path in (prefix / "conf.d").rglob("*.conf")
    }
    assert {path: names for path, names in leftovers.items() if names} == {}


def test_the_rendered_configuration_sends_requests_to_the_services_by_name_through_the_resolver(
    gateway_environment, tmp_path
):
    conf_dir = render_like_the_image(gateway_environment, tmp_path) / "conf.d"
    auth = (conf_dir / "gateway" / "apis" / "auth.conf").read_text()
    todos = (conf_dir / "gateway" / "apis" / "todos.conf").read_text()
    assert 'set $auth_upstream "auth:8001";' in auth
    assert "proxy_pass http://$auth_upstream;" in auth
    assert 'set $todo_upstream "todo:8002";' in todos
    assert "proxy_pass http://$todo_upstream;" in todos
    assert "resolver 127.0.0.11 " in (conf_dir / "upstreams.conf").read_text()
    assert "listen 8080 default_server;" in (conf_dir / "gateway.conf").read_text()


def test_nginx_own_variables_survive_the_rendering(gateway_environment, tmp_path):
    conf_dir = render_like_the_image(gateway_environment, tmp_path) / "conf.d"
    assert "$binary_remote_addr" in (conf_dir / "limits.conf").read_text()
    assert "$http_origin" in (conf_dir / "cors.conf").read_text()


def test_upstream_names_do_not_resolve_here_so_resolving_them_at_start_would_fail(gateway_environment, tmp_path):
    # What the compose values avoid: an upstream{} server named by its service name is resolved when
    # nginx starts (and never again on nginx 1.22).
    gateway_environment["GATEWAY_AUTH_SERVER"] = "auth:8001"
    result = nginx_test(render_like_the_image(gateway_environment, tmp_path))
    assert result.returncode != 0
    assert "host not found" in result.stderr


def test_the_token_check_expects_the_issuer_and_audience_the_services_read(services, gateway_environment, tmp_path):
    conf = (render_like_the_image(gateway_environment, tmp_path) / "conf.d" / "token_check.conf").read_text()
    for name in ("JWT_ISSUER", "JWT_AUDIENCE"):
        assert services["auth"]["environment"][name] == services["todo"]["environment"][name]
    assert f'js_var $token_issuer "{services["auth"]["environment"]["JWT_ISSUER"]}";' in conf
    assert f'js_var $token_audience "{services["auth"]["environment"]["JWT_AUDIENCE"]}";' in conf
    assert f'js_var $token_leeway "{services["auth"]["environment"]["JWT_LEEWAY"]}";' in conf
    assert "js_import token_check from njs/token_check.js;" in conf
