"""Sending outbound webhooks: claim due outbox rows, POST them signed, record the answer.

Webhooks are a stream of the same outbox engine as deliveries
(notify/services/delivering/outbox.py): a wake-up only says "webhooks are due" (webhooks_ring) and
beat wakes the stream every few seconds, so losing Redis loses no event. Rows are claimed with a
conditional UPDATE … SKIP LOCKED that also takes a lease (next_attempt_at moves past the send); the
outcome is written only while the claim's attempt number still holds.

Every URL is resolved and checked before each send, and the connection goes to the address
that was checked (no second lookup a rebinding DNS server could answer differently)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from django.db import connection
from django.utils import timezone

from notify.models.webhooks import WebhookDelivery, WebhookEndpoint
from notify.services.delivering.doorbell import WEBHOOKS, stream_ring
from notify.services.delivering.outbox import Claimed, backoff_delay

logger = logging.getLogger(__name__)

_CLAIM_SQL = """
UPDATE notify_webhookdelivery SET attempts = attempts + 1,
       next_attempt_at = now() + make_interval(secs => %(lease)s)
WHERE id IN (
    SELECT w.id FROM notify_webhookdelivery w
    JOIN notify_webhookendpoint e ON e.id = w.endpoint_id
    WHERE w.status = 'pending' AND w.next_attempt_at <= now() AND e.active
    ORDER BY w.next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE OF w SKIP LOCKED)
RETURNING id
"""


class TargetRefused(Exception):
    """The URL may not be called: wrong scheme, or an address on a private network."""


class TargetUnresolved(Exception):
    """The host name does not resolve (now)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    host_header: str


@dataclass(frozen=True)
class Outcome:
    ok: bool
    response_status: int | None = None
    error: str = ""
    permanent: bool = False
    disable_endpoint: bool = False


# --- Targets and SSRF ---------------------------------------------------------------------


def target_parse(*, url: str) -> Target:
    """Only http(s), with a host and without credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("Only http and https URLs are allowed.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("Credentials in the URL are not allowed.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("The port is not valid.") from exc
    host = parts.hostname
    if not host:
        raise TargetRefused("The URL has no host.")
    shown_host = f"[{host}]" if ":" in host else host
    default_port = port == (443 if parts.scheme == "https" else 80)
    return Target(
        scheme=parts.scheme,
        host=host,
        port=port,
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        host_header=shown_host if default_port else f"{shown_host}:{port}",
    )


def target_address(*, target: Target, allow_private: bool) -> str:
    """The address to connect to. Every address the name resolves to must be public
    (unless `allow_private`): a name with one private address is refused outright."""
    addresses = _resolve(target.host, target.port)
    if not allow_private:
        for address in addresses:
            if address_forbidden(address):
                raise TargetRefused(
                    f"{target.host} resolves to {address}, a private, loopback, link-local, "
                    "multicast or reserved address."
                )
    return addresses[0]


def address_forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 addresses embedded in IPv6 (mapped, 6to4, NAT64) are judged as IPv4.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_forbidden(str(embedded))
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetUnresolved(f"{host} does not resolve: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetUnresolved(f"{host} does not resolve")
    return addresses


# --- Signing and posting ------------------------------------------------------------------


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of f"{timestamp}.{body}" under the endpoint's secret."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _post(target: Target, address: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    timeout = urllib3.Timeout(total=settings.NOTIFY_WEBHOOK_TIMEOUT_SECONDS)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            address, target.port, timeout=timeout, retries=False, maxsize=1
        )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
        )
        excerpt = response.read(300).decode(errors="replace")
        response.release_conn()
        return response.status, excerpt
    finally:
        pool.close()


def _attempt(row: WebhookDelivery) -> Outcome:
    endpoint = row.endpoint
    body = json.dumps(row.payload, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Notify-Webhooks/1",
        "Notify-Webhook-Id": str(row.event_id),
        "Notify-Webhook-Timestamp": timestamp,
        "Notify-Signature": "v1="
        + webhook_signature(secret=endpoint.secret, timestamp=timestamp, body=body),
    }
    try:
        target = target_parse(url=endpoint.url)
        address = target_address(
            target=target, allow_private=settings.NOTIFY_WEBHOOKS_ALLOW_PRIVATE
        )
        status, excerpt = _post(target, address, body, headers)
    except TargetRefused as exc:
        return Outcome(ok=False, error=f"refused: {exc}", permanent=True)
    except (TargetUnresolved, urllib3.exceptions.HTTPError, OSError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:1000])
    except Exception as exc:
        logger.exception("webhooks: unexpected error posting event %s", row.event_id)
        return Outcome(ok=False, error=f"unexpected {type(exc).__name__}: {exc}"[:1000])
    if 200 <= status < 300:
        return Outcome(ok=True, response_status=status)
    if status == 410:
        return Outcome(
            ok=False,
            response_status=status,
            error="410 Gone: the endpoint was disabled",
            permanent=True,
            disable_endpoint=True,
        )
    return Outcome(ok=False, response_status=status, error=f"HTTP {status}: {excerpt}")


# --- The sender ---------------------------------------------------------------------------


class WebhookStream:
    """Outbound webhooks as an outbox stream: NOTIFY_WEBHOOK_CONCURRENCY POSTs in flight per
    worker process, refilled as they complete."""

    name = WEBHOOKS
    urgent = False

    def __init__(self, *, limit: int) -> None:
        self.limit = limit

    def claim(self, room: int) -> Claimed:
        rows = webhook_deliveries_claim(limit=room)
        return Claimed(items=rows, more=len(rows) >= room)

    def send(self, item: WebhookDelivery) -> Outcome:
        return _attempt(item)

    def record(self, done: list[tuple[Any, WebhookDelivery, Outcome]]) -> None:
        for _, row, outcome in done:
            _record(row, outcome)


def webhook_deliveries_claim(*, limit: int) -> list[WebhookDelivery]:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"lease": settings.NOTIFY_WEBHOOK_LEASE_SECONDS, "limit": limit})
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return []
    return list(WebhookDelivery.objects.filter(id__in=ids).select_related("endpoint"))


def webhook_retry_delay(*, attempts: int) -> float:
    return backoff_delay(
        attempts=attempts,
        base=settings.NOTIFY_WEBHOOK_RETRY_BASE_SECONDS,
        cap=settings.NOTIFY_WEBHOOK_RETRY_MAX_SECONDS,
    )


def _record(row: WebhookDelivery, outcome: Outcome) -> None:
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=row.pk, attempts=row.attempts, status=WebhookDelivery.Status.PENDING
    )
    fields: dict[str, Any] = {"response_status": outcome.response_status}
    if outcome.ok:
        claimed.update(status=WebhookDelivery.Status.SENT, sent_at=now, last_error="", **fields)
        return
    gave_up = outcome.permanent or row.attempts >= settings.NOTIFY_WEBHOOK_MAX_ATTEMPTS
    if gave_up:
        claimed.update(status=WebhookDelivery.Status.FAILED, last_error=outcome.error, **fields)
    else:
        delay = webhook_retry_delay(attempts=row.attempts)
        claimed.update(
            next_attempt_at=now + timedelta(seconds=delay), last_error=outcome.error, **fields
        )
    logger.warning(
        "webhooks: event %s to endpoint %s attempt %d %s: %s",
        row.event_id,
        row.endpoint_id,
        row.attempts,
        "gave up" if gave_up else "will retry",
        outcome.error,
    )
    if outcome.disable_endpoint:
        webhook_endpoint_disable(endpoint_id=row.endpoint_id, reason=outcome.error)


def webhook_endpoint_disable(*, endpoint_id: Any, reason: str) -> None:
    """Stop sending to an endpoint; its waiting events fail with the reason."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).update(
        active=False, disabled_reason=reason[:255]
    )
    WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING
    ).update(status=WebhookDelivery.Status.FAILED, last_error=f"endpoint disabled: {reason}")


def webhook_deliveries_purge() -> int:
    """Delete sent and failed events past the retention period; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.NOTIFY_WEBHOOK_RETENTION_DAYS)
    deleted, _ = (
        WebhookDelivery.objects.filter(created_at__lt=cutoff)
        .exclude(status=WebhookDelivery.Status.PENDING)
        .delete()
    )
    return deleted


# --- Waking the sender --------------------------------------------------------------------


def webhooks_ring(*, force: bool = False) -> bool:
    """Wake a dispatcher for the webhooks stream. Never raises: the events are in the
    outbox, and beat wakes the stream anyway."""
    return stream_ring(WEBHOOKS, force=force)
