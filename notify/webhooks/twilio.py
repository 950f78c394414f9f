from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from twilio.request_validator import RequestValidator

from channels.sms import SmsChannel
from notify.services.delivering.reports import delivery_apply_report
from notify.services.recipients.suppressions import sms_opt_out_or_in
from notify.services.webhooks.provider_secrets import provider_webhook_secrets_missing
from notify.webhooks import webhook_error, webhook_method_not_allowed, webhook_not_found

logger = logging.getLogger(__name__)

# Twilio MessageStatus → ours. Anything Twilio holds (queued … sent) means it took the message.
_STATUS = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """Why this request is refused, or None. An unconfigured route looks absent (404) whatever
    the method; then anything but a POST is a 405. The secret and the header are checked before
    the body is parsed (notify.middleware has bounded it); the signature then covers the
    parsed parameters and the public URL, so behind a proxy set USE_X_FORWARDED_HOST /
    SECURE_PROXY_SSL_HEADER for build_absolute_uri() to match it."""
    remote = request.META.get("REMOTE_ADDR")
    if missing := provider_webhook_secrets_missing(provider="twilio"):
        logger.warning(
            "twilio: refused a webhook from %s: %s is not set", remote, ", ".join(missing)
        )
        return webhook_not_found()
    if request.method != "POST":
        return webhook_method_not_allowed(request, ["POST"])
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        logger.warning("twilio: refused an unsigned webhook from %s", remote)
        return webhook_error(403, "forbidden", "X-Twilio-Signature is missing.")
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    if not validator.validate(request.build_absolute_uri(), request.POST, signature):
        logger.warning("twilio: refused a webhook with a bad signature from %s", remote)
        return webhook_error(403, "forbidden", "X-Twilio-Signature does not match.")
    return None


@csrf_exempt
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Twilio's StatusCallback for messages we sent."""
    if refused := _refusal(request):
        return refused
    delivery_id = request.GET.get("delivery")
    if delivery_id is not None:
        try:
            delivery_id = str(uuid.UUID(delivery_id))
        except ValueError:
            return webhook_error(
                400,
                "validation_error",
                "Invalid input.",
                fields={"delivery": ["Must be a valid UUID."]},
            )
    status = _STATUS.get(request.POST.get("MessageStatus", ""))
    if status is not None:
        code = request.POST.get("ErrorCode", "")
        delivery_apply_report(
            channel=SmsChannel.name,
            status=status,
            delivery_id=delivery_id,
            provider_message_id=request.POST.get("MessageSid", ""),
            address=request.POST.get("To", ""),
            error_code=code,
            detail=f"Twilio reported {request.POST.get('MessageStatus')} (error {code})"
            if code
            else "",
            suppress_reason="unsubscribed" if code == "21610" else "",
        )
    return HttpResponse(status=204)


# Twilio's standard opt-out and opt-in keywords.
_STOP = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
_START = {"START", "UNSTOP", "YES", "OPTIN"}


@csrf_exempt
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """Incoming SMS (the number's messaging webhook): STOP suppresses the sender's number for
    every tenant that knows it, START lifts it. Twilio also blocks sends after STOP itself
    (error 21610), which suppresses too."""
    if refused := _refusal(request):
        return refused
    word = request.POST.get("Body", "").strip().upper()
    number = request.POST.get("From", "")
    if word in _STOP | _START and number:
        sms_opt_out_or_in(phone=number, stop=word in _STOP)
    return HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?><Response/>', content_type="text/xml"
    )
