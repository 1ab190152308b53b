#!/usr/bin/env bash
# Create a development signing key pair in the repository's var/keys (or $JWT_KEYS_DIR) when none exists.
# Idempotent: an existing keyring is left alone. Keys are made at run time and never committed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${repo_root}/.venvs/auth/bin/python"
export JWT_KEYS_DIR="${JWT_KEYS_DIR:-${repo_root}/var/keys}"

if [[ ! -x "${python}" ]]; then
    echo "dev-keys: ${python} is missing; create the auth virtual environment first." >&2
    exit 1
fi

# Local settings: the command needs no production secrets, only the keyring folder.
DJANGO_SETTINGS_MODULE=config.settings.local "${python}" "${repo_root}/auth_project/manage.py" signing_keys ensure
echo "dev-keys: public keys for verifiers are in ${JWT_KEYS_DIR}/jwks.json"
