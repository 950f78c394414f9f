"""The page behind an unsubscribe link: GET asks, POST does (a mail client's RFC 8058
one-click POST included), or, as the preference center's other choice, keeps the
category as a daily digest. The token is the only credential; an expired one gets 410 and a
page that says so, a forged one 404."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notify.services.recipients.unsubscribe import (
    BadLink,
    ExpiredLink,
    unsubscribe_apply,
    unsubscribe_digest,
    unsubscribe_read,
)


@csrf_exempt  # a mail client posts here; the token authenticates, not a session
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST" and request.POST.get("choice") == "digest":
            _, category, rule = unsubscribe_digest(token=token)
            context = {"digested": True, "category": category, "at": rule.split("@")[-1]}
            return render(request, "notify/unsubscribe.html", context)
        if request.method == "POST":
            _, category = unsubscribe_apply(token=token)
            return render(request, "notify/unsubscribe.html", {"done": True, "category": category})
        _, category = unsubscribe_read(token=token)
    except ExpiredLink:
        context = {"expired": True, "days": settings.NOTIFY_UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS}
        return render(request, "notify/unsubscribe.html", context, status=410)
    except BadLink:
        return render(request, "notify/unsubscribe.html", {"invalid": True}, status=404)
    return render(request, "notify/unsubscribe.html", {"category": category})
