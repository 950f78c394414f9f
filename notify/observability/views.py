"""GET /metrics: Prometheus text format, for the whole host in multiprocess mode.

Open to loopback callers that did not come through a proxy; anyone else needs
`Authorization: Bearer <METRICS_TOKEN>` (and is refused when no token is set)."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from notify.observability.metrics import metrics_registry
from notify.observability.state import StateCollector

_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _loopback(request: HttpRequest) -> bool:
    # A reverse proxy on the same host makes every client look local: trust loopback only
    # for requests that carry no forwarding header.
    if any(request.META.get(h) for h in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return True
    return _loopback(request)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        response = HttpResponse("metrics: loopback or a METRICS_TOKEN bearer token\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    body = generate_latest(metrics_registry(StateCollector()))
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
