#!/bin/sh
# The parts of the official rabbitmq image's entrypoint this project relies on: the default user, its
# password and vhost from RABBITMQ_DEFAULT_USER/PASS/VHOST (guest/guest on /), allowed from other
# containers, and AMQP on every address.
set -eu
if [ "${1:-}" = "rabbitmq-server" ]; then
    cat > /etc/rabbitmq/rabbitmq.conf <<CONF
loopback_users.guest = false
listeners.tcp.default = 5672
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
default_vhost = ${RABBITMQ_DEFAULT_VHOST:-/}
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
CONF
fi
exec "$@"
