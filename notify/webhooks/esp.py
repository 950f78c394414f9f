"""Routes for ESP tracking webhooks: only the ESPs Notify sends through, each answering 404
until its secrets are set, and each checking basic auth before the body is read. anymail's
views then parse the events (and check Mailgun's signature) for notify.webhooks.anymail."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import cast

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.utils import get_request_basic_auth
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

from notify.services.provider_webhooks import provider_webhook_secrets_missing
from notify.webhooks import webhook_error, webhook_not_found

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


def _guarded(esp: str, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    def guarded(request: HttpRequest) -> HttpResponse:
        remote = request.META.get("REMOTE_ADDR")
        if missing := provider_webhook_secrets_missing(provider=esp):
            logger.warning(
                "%s: refused a webhook from %s: %s not set", esp, remote, ", ".join(missing)
            )
            return webhook_not_found()
        if not _credentials_valid(request):
            logger.warning("%s: refused a webhook with bad credentials from %s", esp, remote)
            return webhook_error(403, "forbidden", "Invalid webhook credentials.")
        try:
            return view(request)
        except AnymailWebhookValidationFailure as exc:  # Mailgun's signature
            logger.warning("%s: refused a webhook from %s: %s", esp, remote, exc)
            return webhook_error(403, "forbidden", "Invalid webhook signature.")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return webhook_error(400, "parse_error", "The webhook body is not valid JSON.")

    return guarded


urlpatterns: list[URLPattern] = [
    path(
        "postmark/tracking/",
        _guarded("postmark", PostmarkTrackingWebhookView.as_view()),
        name="postmark_tracking_webhook",
    ),
    path(
        "mailgun/tracking/",
        _guarded("mailgun", MailgunTrackingWebhookView.as_view()),
        name="mailgun_tracking_webhook",
    ),
]
