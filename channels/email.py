"""Email through Django's mail API: SMTP or an anymail ESP (Postmark, Mailgun), chosen by
EMAIL_PROVIDER. One connection per send thread, kept open between messages."""

from __future__ import annotations

import contextlib
import smtplib
import threading
import time
from email.utils import make_msgid
from typing import Any

import requests
from anymail.exceptions import (
    AnymailConfigurationError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from channels.base import Channel, DeliveryError, Message, Part

# Django mail backends by provider name; EMAIL_PROVIDER(S) choose among them.
BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "postmark": "anymail.backends.postmark.EmailBackend",
    "mailgun": "anymail.backends.mailgun.EmailBackend",
}
# An SMTP server may drop a connection that sat idle; reopen rather than fail a send on it.
_IDLE_REOPEN_SECONDS = 20.0


class EmailChannel(Channel):
    name = "email"
    addressed_by = "email"
    address_label = "email address"
    fold_case = True  # mailbox names are case-insensitive in practice
    parts = {
        "subject": Part(998, required=True, single_line=True),  # RFC 5322's line limit
        "text": Part(100_000),
        "html": Part(200_000),
    }
    all_providers = tuple(BACKENDS)
    color = "#0b62a4"

    def __init__(self) -> None:
        self._local = threading.local()

    @classmethod
    def providers(cls) -> list[str]:
        return [str(p) for p in settings.EMAIL_PROVIDERS]

    @classmethod
    def content_errors(cls, content: dict[str, Any]) -> list[tuple[str, str]]:
        # Rendered HTML keeps its whitespace (content/rendering.py): blanks are no body.
        if (
            not str(content.get("text") or "").strip()
            and not str(content.get("html") or "").strip()
        ):
            return [("text", "Give text, html or both.")]
        return []

    def send(self, message: Message) -> str:
        provider = message.provider or self.provider
        part = message.content
        message_id = make_msgid(domain="notify.local")
        email = EmailMultiAlternatives(
            subject=part.get("subject", ""),
            body=part.get("text", ""),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={
                "Message-ID": message_id,
                "X-Notify-Delivery-Id": message.delivery_id,
                "X-Notify-Notification-Id": message.notification_id,
                **part.get("headers", {}),
            },
            connection=self._connection(provider),
        )
        if part.get("html"):
            email.attach_alternative(part["html"], "text/html")
        if provider != "smtp":
            # ESP webhooks hand this back, which is how tracking events find the delivery.
            email.metadata = {  # type: ignore[attr-defined]
                "delivery_id": message.delivery_id,
                "notification_id": message.notification_id,
            }
            if message.category:
                email.tags = [message.category]  # type: ignore[attr-defined]
        try:
            email.send()
        except Exception as exc:
            self._drop_connection(provider)
            raise _classify(exc) from exc
        self._local.last_used = time.monotonic()
        status = getattr(email, "anymail_status", None)
        return str(status.message_id) if status and status.message_id else message_id

    def _connection(self, provider: str) -> Any:
        """One open connection per provider per send thread, reused across messages."""
        conns: dict[str, Any] = self._local.__dict__.setdefault("conns", {})
        idle = time.monotonic() - getattr(self._local, "last_used", 0.0)
        if provider in conns and provider == "smtp" and idle > _IDLE_REOPEN_SECONDS:
            self._drop_connection(provider)
        if provider not in conns:
            conn = get_connection(settings.EMAIL_BACKENDS[provider], fail_silently=False)
            # An explicitly opened connection is not closed by send_messages(), so it is
            # reused by the next message on this thread.
            conn.open()
            conns[provider] = conn
        return conns[provider]

    def _drop_connection(self, provider: str) -> None:
        conn = self._local.__dict__.setdefault("conns", {}).pop(provider, None)
        if conn is not None:
            with contextlib.suppress(Exception):  # it is already broken; just let it go
                conn.close()


def _classify(exc: Exception) -> DeliveryError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = any(400 <= code < 500 for code in codes)
        return DeliveryError(
            f"recipient refused: {codes}",
            permanent=not transient,
            suppress=not transient,
            code=f"smtp_{codes[0]}" if codes else "smtp_refused",
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"SMTP authentication failed: {exc.smtp_code}",
            config=True,
            code=f"smtp_{exc.smtp_code}",
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return DeliveryError(
            f"SMTP {code}: {exc.smtp_error!r}", permanent=code >= 500, code=f"smtp_{code}"
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected | TimeoutError):
        # Possibly after the final "." of DATA: the server may have queued it.
        return DeliveryError(f"SMTP connection lost: {exc}", ambiguous=True, code="smtp_lost")
    if isinstance(exc, AnymailError):
        return _classify_anymail(exc)
    if isinstance(exc, OSError):
        return DeliveryError(f"SMTP server unreachable: {exc}", code="connect_error")
    if isinstance(exc, ValueError):  # e.g. BadHeaderError: the message itself is unsendable
        return DeliveryError(f"invalid message: {exc}", permanent=True, code="invalid_message")
    raise exc


def _classify_anymail(exc: AnymailError) -> DeliveryError:
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return DeliveryError(str(exc), permanent=True, suppress=True, code="recipient_refused")
    if isinstance(exc, AnymailConfigurationError):
        return DeliveryError(str(exc), config=True, code="esp_config")
    if isinstance(exc, AnymailRequestsAPIError):
        # anymail's transport errors are also the requests exception they wrap.
        if isinstance(exc, requests.ReadTimeout):
            return DeliveryError(f"ESP read timeout: {exc}", ambiguous=True, code="timeout")
        status = exc.status_code
        if status is None:
            return DeliveryError(f"ESP unreachable: {exc}", code="connect_error")
        retry_after = None
        if exc.response is not None:
            from channels.base import parse_retry_after

            retry_after = parse_retry_after(exc.response.headers.get("Retry-After"))
        if status in (401, 403):
            return DeliveryError(str(exc), config=True, code=f"http_{status}")
        if status == 429:
            return DeliveryError(str(exc), code="http_429", retry_after=retry_after, throttled=True)
        if status >= 500:
            return DeliveryError(str(exc), code=f"http_{status}", retry_after=retry_after)
        return DeliveryError(str(exc), permanent=True, code=f"http_{status}")
    return DeliveryError(str(exc), permanent=True, code="esp_error")
