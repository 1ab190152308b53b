"""WSGI entry point of the floor (gunicorn bench_floor.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench_floor.settings")
application = get_wsgi_application()
