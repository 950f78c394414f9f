"""The page at /: what this Notify is and where its parts are. Public, so it shows only fixed
links and switches from settings, never anything read from the database."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_safe


def _optional_url(name: str) -> str:
    """The path of a route that may not exist in this version (e.g. the inbox demo)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    links = [
        ("API", "/api/v1/", "JSON root listing every endpoint; calls need an API key"),
        ("API docs", "/api/docs/", "interactive OpenAPI documentation"),
        ("Admin", "/admin/", "notifications, deliveries, templates, API keys (staff)"),
        ("Dashboard", "/admin/dashboard/", "delivery rates, queues, circuits (staff)"),
        ("Inbox demo", _optional_url("inbox"), "what a recipient's inbox shows"),
        # Set by `make run`; empty in a deployment that does not expose them here.
        ("Provider sandbox", settings.NOTIFY_SANDBOX_URL, "what the providers received"),
        ("Flower", settings.NOTIFY_FLOWER_URL, "Celery workers and tasks (its own password)"),
        ("Readiness", "/readyz", "Postgres, Redis, broker and workers, as JSON"),
        ("Metrics", "/metrics", "Prometheus (loopback or a bearer token)"),
    ]
    context = {
        "links": [(name, url, what) for name, url, what in links if url],
        "debug": settings.DEBUG,
    }
    return render(request, "notify/landing.html", context)
