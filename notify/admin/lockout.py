"""What django-axes needs from us for the admin login lockout (notify/settings/security.py):
the client's address, and the page a locked-out login gets."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_address(request: HttpRequest) -> str:
    """The address a login attempt is counted against. Behind NOTIFY_PROXY_COUNT proxies the
    client is that many entries from the right of X-Forwarded-For: each proxy appends what
    connected to it, and anything further left was written by the client and proves nothing."""
    hops = settings.NOTIFY_PROXY_COUNT
    remote = str(request.META.get("REMOTE_ADDR", ""))
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    # Fewer entries than proxies: the request did not come through all of them.
    return forwarded[-hops] if len(forwarded) >= hops else remote


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """429 with an HTML page in the admin's look, whatever the request's Accept or
    X-Requested-With says: the admin login is a form, and no other site may read this."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    context = {
        "title": "Too many failed logins",
        "site_header": "Notify operations",
        "site_title": "Notify operations",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": minutes,
    }
    return render(request, "admin/locked_out.html", context, status=429)
