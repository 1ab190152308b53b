#!/usr/bin/env bash
# Create or update the project's virtual environments: one per service and one for the
# cross-service tools. Each is rebuilt only when its requirements files change, so a second run
# is instant. Usage: scripts/bootstrap.sh [auth|todo|tools|bench|compose ...]
# (default: auth, todo and tools; `make bench` and `make test-compose` make their own environments)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venvs_dir="$repo_root/.venvs"
python=${PYTHON:-python3}

# name -> the requirements file its venv installs (dev files include the runtime pins with -r)
declare -A requirements=(
  [auth]="auth_project/requirements-dev.txt"
  [todo]="todo_project/requirements-dev.txt"
  [tools]="tests/requirements.txt"
  [bench]="scripts/requirements-bench.txt"
  [k8s]="tests/k8s/requirements.txt"
  [checkov]="tests/k8s/requirements-checkov.txt"
  [compose]="tests/requirements-compose.txt"
)
# files whose content decides whether a venv is current
declare -A inputs=(
  [auth]="auth_project/requirements.txt auth_project/requirements-dev.txt"
  [todo]="todo_project/requirements.txt todo_project/requirements-dev.txt"
  [tools]="tests/requirements.txt"
  [bench]="scripts/requirements-bench.txt"
  [k8s]="tests/k8s/requirements.txt"
  [checkov]="tests/k8s/requirements-checkov.txt"
  [compose]="tests/requirements-compose.txt"
)

say() { printf '==> %s\n' "$*"; }
die() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

command -v "$python" >/dev/null || die "no '$python' on PATH; install Python 3.11 or newer, or set PYTHON=/path/to/python3.11"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "$("$python" --version 2>&1) is too old; Python 3.11 or newer is needed (set PYTHON=...)"
"$python" -c 'import venv, ensurepip' 2>/dev/null \
  || die "'$python' lacks venv/ensurepip; on Debian: apt-get install python3-venv"

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(auth todo tools)

cd "$repo_root"
for name in "${names[@]}"; do
  [[ -n "${requirements[$name]:-}" ]] || die "unknown environment '$name' (auth, todo, tools, bench, k8s, checkov or compose)"
  venv="$venvs_dir/$name"
  stamp="$venv/.requirements.sha256"
  # shellcheck disable=SC2086  # the inputs list is meant to split into file names
  wanted=$(cat ${inputs[$name]} | sha256sum | cut -d' ' -f1)
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" && -x "$venv/bin/python" ]]; then
    continue
  fi
  if [[ ! -x "$venv/bin/python" ]]; then
    say "creating virtual environment .venvs/$name"
    "$python" -m venv "$venv"
  fi
  say "installing .venvs/$name from ${requirements[$name]} (first time: about a minute)"
  # pip on some machines names local mirror folders that do not exist: that warning is noise
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --progress-bar off \
    -r "${requirements[$name]}" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
  echo "$wanted" > "$stamp"
done
