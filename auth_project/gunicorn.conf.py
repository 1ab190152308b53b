"""gunicorn settings for the auth service, all from the environment (docs/configuration.md)."""

import os

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('AUTH_PORT') or 8001}"
workers = int(os.environ.get("GUNICORN_WORKERS") or 2)
# Two threads: a login's Argon2id hash (19 MiB, outside the GIL) overlaps with other requests, while the
# worker's peak memory stays near its base plus two hashes (with 4 threads it passed 150 MB under load).
threads = int(os.environ.get("GUNICORN_THREADS") or 2)
# gthread keeps idle upstream connections open, so the gateway's keepalive pool pays off.
worker_class = "gthread"
# Longer than the gateway's upstream keepalive_timeout (nginx default 60 s), so the gateway closes first
# and never sends a request on a connection gunicorn is closing.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE") or 75)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
# The request-id middleware writes one JSON access line per request; gunicorn's own would duplicate it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL") or "info"
# Only the gateway may say the original request was HTTPS (X-Forwarded-Proto).
forwarded_allow_ips = os.environ.get("TRUSTED_PROXY_IPS") or "127.0.0.1,::1"
# gunicorn's control socket defaults to one path per user, which the todo service's gunicorn would share;
# nothing here uses it.
control_socket_disable = True
# The worker heartbeat touches a file on every request: keep it in memory where the machine has /dev/shm.
# (gunicorn creates that file with mkstemp and unlinks it at once, so a shared folder is safe.)
SHARED_MEMORY = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None
# The gateway's limits on the request line and headers (large_client_header_buffers: 4 x 8 KiB) answer first and in
# JSON; gunicorn's own, lower by default, would answer a URI or a header count between the two in HTML.
limit_request_line = 8190
limit_request_fields = 32768
limit_request_field_size = 8190
