"""Push through firebase-admin (FCM HTTP v1)."""

from __future__ import annotations

import json
import threading
import warnings
from typing import Any

import firebase_admin
import requests
from django.conf import settings
from firebase_admin import App, credentials, exceptions, initialize_app, messaging
from google.auth.credentials import Credentials as GoogleCredentials
from urllib3.util.retry import Retry

from channels.base import DEVICES, Channel, DeliveryError, Message, Part, settle_environment

# firebase-admin retries POSTs on 500/503 and read timeouts by itself, which can deliver one
# push several times and hides attempts from us. Retries belong to Notify: only a failed
# connect (nothing was sent) is retried here.
# read=False (not 0) re-raises the read timeout itself, so it can be told apart as ambiguous.
_NO_REPLAY = Retry(
    total=None,
    connect=1,
    read=False,
    status=0,
    other=0,
    redirect=0,
    allowed_methods=None,
    raise_on_status=False,
)
_APP_NAME = "notify"
# FCM rejects messages over 4096 bytes of payload.
MAX_BYTES = 4096
MAX_DATA_KEYS = 50
# Data keys FCM refuses the whole message for (its reference for Message.data: reserved
# words, and any key starting with "google" or "gcm"; compared without case, as other Admin
# SDKs do), and the key Notify itself sets on every push (send() would overwrite it).
RESERVED_DATA_KEYS = frozenset({"from", "message_type", "notify_delivery_id"})
RESERVED_DATA_PREFIXES = ("google", "gcm")
# firebase-admin 7.7 deprecates Message.token for fid; FCM HTTP v1 still names the field
# "token", which is what we send.
warnings.filterwarnings("ignore", message="Message.token is deprecated")


class _StaticToken(GoogleCredentials):
    """A bearer token that never expires, for FCM_BASE_URL without FCM_CREDENTIALS."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.expiry = None

    def refresh(self, request: Any) -> None:
        pass


class _StaticCredential(credentials.Base):
    def __init__(self, token: str) -> None:
        self._credential = _StaticToken(token)

    def get_credential(self) -> GoogleCredentials:
        return self._credential


class PushChannel(Channel):
    name = "push"
    addressed_by = DEVICES
    address_label = "active push device"
    parts = {"title": Part(256, required=True, single_line=True), "body": Part(2048)}
    data_part = Part(2048)
    all_providers = ("fcm",)
    color = "#007a5a"

    @classmethod
    def content_errors(cls, content: dict[str, Any]) -> list[tuple[str, str]]:
        errors = []
        data = content.get("data") or {}
        if len(data) > MAX_DATA_KEYS:
            errors.append(("data", f"At most {MAX_DATA_KEYS} keys."))
        errors += [(f"data.{key}", message) for key in data if (message := _reserved(key))]
        size = len(json.dumps(content, ensure_ascii=False).encode())
        if size > MAX_BYTES:
            errors.append(("data", f"Push payload is {size} bytes; FCM allows {MAX_BYTES}."))
        return errors

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._app: App | None = None

    def _get_app(self) -> App:
        with self._lock:
            if self._app is None:
                try:
                    self._app = _build_app()
                except (ValueError, OSError) as exc:  # unreadable or invalid credentials
                    raise DeliveryError(
                        f"FCM set-up failed: {exc}", config=True, code="not_configured"
                    ) from exc
            return self._app

    def send(self, message: Message) -> str:
        part = message.content
        data = {str(k): str(v) for k, v in (part.get("data") or {}).items()}
        data["notify_delivery_id"] = message.delivery_id
        urgent = message.priority in ("critical", "high")
        fcm_message = messaging.Message(
            token=message.to,
            notification=messaging.Notification(title=part.get("title"), body=part.get("body")),
            data=data,
            # If a lost reply makes us send twice, the second copy replaces the first on the
            # device instead of showing up as a duplicate.
            android=messaging.AndroidConfig(
                collapse_key=message.notification_id, priority="high" if urgent else "normal"
            ),
            apns=messaging.APNSConfig(headers={"apns-collapse-id": message.notification_id[:64]}),
        )
        app = self._get_app()
        try:
            return str(messaging.send(fcm_message, app=app))
        except exceptions.FirebaseError as exc:
            raise _classify(exc) from exc
        except ValueError as exc:  # the SDK validates the payload before sending
            raise DeliveryError(
                f"invalid push payload: {exc}", permanent=True, code="invalid_payload"
            ) from exc


def _reserved(key: str) -> str:
    """Why `key` may not be a data key, or ""."""
    folded = str(key).lower()
    if folded in RESERVED_DATA_KEYS:
        return f"'{key}' is a reserved key (FCM or Notify); use another name."
    if folded.startswith(RESERVED_DATA_PREFIXES):
        return "Keys starting with 'google' or 'gcm' are reserved by FCM; use another name."
    return ""


def _build_app() -> App:
    base_url = settings.FCM_BASE_URL.rstrip("/")
    if settings.FCM_CREDENTIALS:
        credential: credentials.Base = credentials.Certificate(settings.FCM_CREDENTIALS)
    elif base_url:
        credential = _StaticCredential("notify-sandbox-token")
    else:
        raise DeliveryError("FCM_CREDENTIALS not set", config=True, code="not_configured")
    if base_url:
        # Read once, when the app's messaging service is created (docs/providers.md §5).
        messaging._MessagingService.FCM_URL = base_url + "/v1/projects/{0}/messages:send"
    options = {"httpTimeout": settings.PROVIDER_TIMEOUT}
    if settings.FCM_PROJECT_ID or base_url:
        options["projectId"] = settings.FCM_PROJECT_ID or "notify-sandbox"
    try:
        app = firebase_admin.get_app(_APP_NAME)  # built by an earlier channel instance
    except ValueError:
        app = initialize_app(credential, options=options, name=_APP_NAME)
    session = messaging._get_messaging_service(app)._client.session
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=100, pool_maxsize=100, max_retries=_NO_REPLAY
    )
    session.mount(base_url or "https://fcm.googleapis.com", adapter)
    settle_environment(session, base_url or "https://fcm.googleapis.com")
    return app


def _classify(exc: exceptions.FirebaseError) -> DeliveryError:
    text = f"FCM {exc.code}: {exc}"
    if isinstance(exc, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return DeliveryError(text, permanent=True, deactivate_device=True, code=_code(exc))
    if isinstance(
        exc,
        messaging.ThirdPartyAuthError
        | exceptions.UnauthenticatedError
        | exceptions.PermissionDeniedError,
    ):
        return DeliveryError(text, config=True, code=_code(exc))
    if isinstance(exc, exceptions.InvalidArgumentError | exceptions.NotFoundError):
        return DeliveryError(text, permanent=True, code=_code(exc))
    cause = exc.cause
    if isinstance(cause, requests.ReadTimeout):
        return DeliveryError(text, ambiguous=True, code="timeout")
    retry_after = None
    if exc.http_response is not None:
        from channels.base import parse_retry_after

        retry_after = parse_retry_after(exc.http_response.headers.get("Retry-After"))
    throttled = isinstance(exc, messaging.QuotaExceededError | exceptions.ResourceExhaustedError)
    return DeliveryError(text, code=_code(exc), retry_after=retry_after, throttled=throttled)


def _code(exc: exceptions.FirebaseError) -> str:
    names = {
        messaging.UnregisteredError: "UNREGISTERED",
        messaging.SenderIdMismatchError: "SENDER_ID_MISMATCH",
        messaging.ThirdPartyAuthError: "THIRD_PARTY_AUTH_ERROR",
        messaging.QuotaExceededError: "QUOTA_EXCEEDED",
    }
    for cls, name in names.items():
        if isinstance(exc, cls):
            return name
    return str(exc.code)
