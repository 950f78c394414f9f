"""SMS through the twilio SDK's Messages API."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from channels.base import (
    Channel,
    DeliveryError,
    Message,
    Part,
    parse_retry_after,
    settle_environment,
)

# Twilio error codes (https://www.twilio.com/docs/errors/<code>).
_PERMANENT = {21211, 21212, 21214, 21217, 21265, 21601, 21602, 21604, 21612, 21614, 21617}
_SUPPRESS = {21610}  # the recipient replied STOP
_CONFIG = {20003, 20404, 21408, 21606, 21608, 21659, 21660}


class _HttpClient(TwilioHttpClient):
    """Remembers the last response's headers (TwilioRestException drops them, and a 429's
    Retry-After matters). With TWILIO_BASE_URL, sends every request the SDK builds there,
    whatever Twilio host, region or edge it was built for; the original host travels in
    X-Forwarded-Host."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._base = urlsplit(base_url) if base_url else None
        self.last_headers: Any = {}
        if self.session is not None:
            self.proxy = settle_environment(self.session, base_url or "https://api.twilio.com")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self.last_headers = {}
        if self._base is not None:
            parts = urlsplit(url)
            headers = dict(kwargs.pop("headers", None) or {})
            headers["X-Forwarded-Host"] = parts.netloc
            url = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))
            kwargs["headers"] = headers
        response = super().request(method, url, *args, **kwargs)
        self.last_headers = response.headers or {}
        return response


class SmsChannel(Channel):
    name = "sms"
    addressed_by = "phone"
    address_label = "phone number"
    parts = {"text": Part(1600, required=True)}  # Twilio's limit (10 segments)
    all_providers = ("twilio",)
    color = "#b35900"

    def __init__(self) -> None:
        self._local = threading.local()

    def _client(self) -> Client:
        # One client (and so one requests.Session) per send thread.
        client = getattr(self._local, "client", None)
        if client is None:
            if not settings.TWILIO_ACCOUNT_SID or not settings.TWILIO_AUTH_TOKEN:
                raise DeliveryError(
                    "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN not set",
                    config=True,
                    code="not_configured",
                )
            http = _HttpClient(settings.TWILIO_BASE_URL, timeout=settings.PROVIDER_TIMEOUT)
            client = Client(
                settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http
            )
            self._local.client = client
        return client

    def send(self, message: Message) -> str:
        params: dict[str, Any] = {"to": message.to, "body": message.content.get("text", "")}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            params["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            params["from_"] = settings.TWILIO_FROM
        if settings.NOTIFY_PUBLIC_URL:
            # Our delivery id in the callback URL lets a status callback find its delivery
            # even when the create response was lost.
            query = urlencode({"delivery": message.delivery_id})
            params["status_callback"] = (
                f"{settings.NOTIFY_PUBLIC_URL.rstrip('/')}/webhooks/twilio/status/?{query}"
            )
        try:
            created = self._client().messages.create(**params)
        except DeliveryError:
            raise
        except (TwilioException, requests.RequestException) as exc:
            headers = self._local.client.http_client.last_headers
            raise _classify(exc, headers.get("Retry-After")) from exc
        return str(created.sid)

    @classmethod
    def tidy(cls, part: str, text: str) -> str:
        # \xa0 forces UCS-2 encoding, which halves the characters per SMS segment.
        return text.replace("\xa0", " ")

    def find(self, *, to: str, content: dict[str, Any], since: datetime) -> list[str]:
        """SIDs of messages Twilio holds to `to` with this text, created since `since`,
        oldest first: how a send whose reply was lost is settled (Twilio has no idempotency
        key). Raises DeliveryError if Twilio cannot be asked."""
        body = content.get("text", "")
        try:
            found = self._client().messages.list(to=to, limit=50)
        except (TwilioException, requests.RequestException) as exc:
            raise _classify(exc, None) from exc
        matches = [
            m for m in found if m.body == body and m.date_created and m.date_created >= since
        ]
        return [str(m.sid) for m in sorted(matches, key=lambda m: m.date_created)]


def _classify(exc: Exception, retry_after_header: str | None) -> DeliveryError:
    if isinstance(exc, requests.ReadTimeout):
        return DeliveryError(f"Twilio read timeout: {exc}", ambiguous=True, code="timeout")
    if isinstance(exc, requests.ConnectTimeout) or _refused(exc):
        return DeliveryError(f"Twilio unreachable: {exc}", code="connect_error")
    if isinstance(exc, requests.RequestException):
        # The connection broke after the request went out: Twilio may have the message.
        return DeliveryError(
            f"Twilio connection lost: {exc}", ambiguous=True, code="connection_lost"
        )
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    text = f"Twilio {status} code {code}: {getattr(exc, 'msg', None) or exc}"
    retry_after = parse_retry_after(retry_after_header)
    if code in _SUPPRESS:
        return DeliveryError(text, permanent=True, suppress=True, code=str(code))
    if code in _CONFIG or status in (401, 403):
        return DeliveryError(text, config=True, code=str(code))
    if status == 429:
        return DeliveryError(text, code=str(code), retry_after=retry_after, throttled=True)
    if isinstance(status, int) and status >= 500:
        return DeliveryError(text, code=str(code), retry_after=retry_after)
    if code in _PERMANENT or (isinstance(status, int) and 400 <= status < 500):
        return DeliveryError(text, permanent=True, code=str(code))
    return DeliveryError(text, code=str(code))


def _refused(exc: Exception) -> bool:
    """True when no connection was ever made, so nothing was sent."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(reason, NewConnectionError | ConnectionRefusedError)
