"""WSGI entry point: `gunicorn notify.wsgi:application`."""

from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notify.settings")

application = get_wsgi_application()

# What is loaded now (Django, the URLconf and every view, their modules' objects) lives as
# long as the process. Frozen, the collector no longer walks it in every full collection: a
# 1,000-item batch allocates enough to run several, and they were ~15 % of its CPU.
get_resolver().url_patterns  # noqa: B018 - imports the URLconf now, not on the first request
gc.collect()
gc.freeze()
