"""gunicorn settings for the todo service, from the environment (docs/configuration.md)."""

import os

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('TODO_PORT', '8002')}")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# gthread keeps the gateway's upstream keepalive connections open; sync workers would close each one.
worker_class = "gthread"
# One thread per worker: every todo request is short and CPU-bound in Python, and on 2 cores a second thread
# only fights the first for the GIL (measured: 2 workers x 1 thread served the list about 20% faster than
# 2 x 2 and 30% faster than 2 x 4; docs/benchmarks.md). Idle keepalive connections still wait in the
# worker's poller, not in a thread.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Longer than the gateway's upstream keepalive_timeout (60 s), so the gateway closes idle connections first.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# The request-id middleware writes one JSON access line per request; gunicorn's own would double it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Only the gateway may set X-Forwarded-* (same list as the service's TRUSTED_PROXY_IPS).
forwarded_allow_ips = os.environ.get("TRUSTED_PROXY_IPS", "127.0.0.1,::1")
proc_name = "todo-service"
# The worker heartbeat touches a file on every request: keep it in memory where the machine has /dev/shm.
# (gunicorn creates that file with mkstemp and unlinks it at once, so a shared folder is safe.)
SHARED_MEMORY = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None
# gunicorn's control socket defaults to one path per user: the auth and todo services would fight over it.
control_socket_disable = True
# The gateway's limits on the request line and headers (large_client_header_buffers: 4 x 8 KiB) answer first and in
# JSON; gunicorn's own, lower by default, would answer a URI or a header count between the two in HTML.
limit_request_line = 8190
limit_request_fields = 32768
limit_request_field_size = 8190
