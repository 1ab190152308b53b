#!/bin/sh
# The official nginx image's entrypoint contract: when the command is nginx, run the executable
# /docker-entrypoint.d/*.sh scripts in order, then exec the command.
set -eu
if [ "${1:-}" = "nginx" ] || [ "${1:-}" = "nginx-debug" ]; then
    for script in /docker-entrypoint.d/*.sh; do
        [ -x "$script" ] && "$script"
    done
    echo "$0: configuration complete; ready for start up"
fi
exec "$@"
