"""Routes for ESP tracking webhooks: only the ESPs Notify sends through, each answering 404
until its secrets are set, and each checking basic auth before the body is read. anymail's
views then parse the events (and check Mailgun's signature) for notify.webhooks.anymail."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any, cast

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.utils import get_request_basic_auth
from anymail.webhooks.base import AnymailCoreWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

from notify.services.webhooks.provider_secrets import provider_webhook_secrets_missing
from notify.webhooks import webhook_error, webhook_method_not_allowed, webhook_not_found

logger = logging.getLogger(__name__)


def _credentials_valid(request: HttpRequest) -> bool:
    given = get_request_basic_auth(request) or ""
    configured = settings.ANYMAIL.get("WEBHOOK_SECRET") or []
    # One "user:pass" or a list of them (a rotation).
    if isinstance(configured, str):
        configured = [configured]
    allowed = [str(secret) for secret in cast(Iterable[object], configured)]
    # Every entry is compared, so the time taken does not tell which one nearly matched.
    matches = [constant_time_compare(given, secret) for secret in allowed]
    return bool(given) and any(matches)


# What anymail's parsers raise on a body of the right syntax but the wrong shape (a list where
# an object belongs, a missing key, a timestamp that is not a number): the caller's mistake.
_SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)


class MalformedEvent(Exception):
    """A webhook body anymail could not read: answered 400, not 500."""


class _ParseGuard(AnymailCoreWebhookView):
    """Turns anymail's parser errors into the two refusals the caller can act on. Our signal
    receivers run after parse_events, outside this, so a bug of ours is still a 500."""

    def run_validators(self, request: HttpRequest) -> None:
        try:
            super().run_validators(request)
        except AnymailWebhookValidationFailure:
            raise
        except _SHAPE_ERRORS as exc:
            # Mailgun's signature block of the wrong shape: unverifiable, so unsigned.
            raise AnymailWebhookValidationFailure("malformed signature block") from exc

    def parse_events(self, request: HttpRequest) -> Any:
        try:
            return super().parse_events(request)
        except _SHAPE_ERRORS as exc:
            raise MalformedEvent(f"{type(exc).__name__}: {exc}") from exc


class _Postmark(_ParseGuard, PostmarkTrackingWebhookView):
    pass


class _Mailgun(_ParseGuard, MailgunTrackingWebhookView):
    pass


def _guarded(esp: str, view_class: type[_ParseGuard]) -> Any:
    view = view_class.as_view()
    allowed = [m.upper() for m in view_class.http_method_names]

    @csrf_exempt
    def guarded(request: HttpRequest) -> HttpResponse:
        remote = request.META.get("REMOTE_ADDR")
        if missing := provider_webhook_secrets_missing(provider=esp):
            logger.warning(
                "%s: refused a webhook from %s: %s not set", esp, remote, ", ".join(missing)
            )
            return webhook_not_found()
        if (request.method or "").lower() not in view_class.http_method_names:
            return webhook_method_not_allowed(request, allowed)
        if not _credentials_valid(request):
            logger.warning("%s: refused a webhook with bad credentials from %s", esp, remote)
            return webhook_error(403, "forbidden", "Invalid webhook credentials.")
        try:
            return view(request)
        except AnymailWebhookValidationFailure as exc:  # Mailgun's signature
            logger.warning("%s: refused a webhook from %s: %s", esp, remote, exc)
            return webhook_error(403, "forbidden", "Invalid webhook signature.")
        except MalformedEvent as exc:
            logger.warning("%s: refused a malformed webhook from %s: %s", esp, remote, exc)
            if isinstance(exc.__cause__, json.JSONDecodeError | UnicodeDecodeError):
                return webhook_error(400, "parse_error", "The webhook body is not valid JSON.")
            return webhook_error(
                400, "parse_error", f"The webhook body is not a valid {esp} tracking event."
            )

    return guarded


urlpatterns: list[URLPattern] = [
    path(
        "postmark/tracking/",
        _guarded("postmark", _Postmark),
        name="postmark_tracking_webhook",
    ),
    path(
        "mailgun/tracking/",
        _guarded("mailgun", _Mailgun),
        name="mailgun_tracking_webhook",
    ),
]
