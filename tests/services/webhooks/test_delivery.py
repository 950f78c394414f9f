"""Sending outbound webhooks through their outbox stream, against a real local HTTP server:
claim takes due rows with a lease, each POST is signed, the answer decides the row (sent,
retry later, failed), a 410 disables the endpoint, and old rows are purged."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from notify.models import WebhookDelivery, WebhookEndpoint
from notify.services.access.apikeys import api_key_create
from notify.services.webhooks.delivery import (
    WebhookStream,
    webhook_deliveries_purge,
    webhook_signature,
)

pytestmark = pytest.mark.django_db


class _Receiver(http.server.BaseHTTPRequestHandler):
    answer = 200
    seen: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.seen.append((dict(self.headers), body))
        self.send_response(_Receiver.answer)
        self.end_headers()
        self.wfile.write(b"busy")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def url(settings: Any) -> Iterator[str]:
    settings.NOTIFY_WEBHOOKS_ALLOW_PRIVATE = True
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.answer, _Receiver.seen = 200, []
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.shutdown()
    server.server_close()


def _event(url: str, **fields: Any) -> WebhookDelivery:
    key = api_key_create(name="hooks")[0]
    endpoint = WebhookEndpoint.objects.create(api_key=key, url=url, secret="whsec_test")
    fields.setdefault("next_attempt_at", timezone.now() - timedelta(hours=1))
    return WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="delivery.sent", payload={"id": "e1"}, **fields
    )


def _run(stream: WebhookStream) -> list[WebhookDelivery]:
    """One claim, its sends and their recording, as the outbox engine does them."""
    claimed = stream.claim(10)
    stream.record([(claimed.token, row, stream.send(row)) for row in claimed.items])
    return claimed.items


def test_a_due_event_is_posted_signed_and_marked_sent(url: str) -> None:
    event = _event(url)

    assert [row.pk for row in _run(WebhookStream(limit=4))] == [event.pk]

    row = WebhookDelivery.objects.get(pk=event.pk)
    assert (row.status, row.attempts, row.response_status) == ("sent", 1, 200)
    [(headers, body)] = _Receiver.seen
    assert json.loads(body) == {"id": "e1"}
    stamp = headers["Notify-Webhook-Timestamp"]
    expected = hmac.new(b"whsec_test", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["Notify-Signature"] == f"v1={expected}"
    assert webhook_signature(secret="whsec_test", timestamp=stamp, body=body) == expected
    assert headers["Notify-Webhook-Id"] == str(row.event_id)
    assert _run(WebhookStream(limit=4)) == []  # nothing left to claim


def test_an_event_not_yet_due_is_not_claimed(url: str) -> None:
    _event(url, next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert _run(WebhookStream(limit=4)) == []
    assert _Receiver.seen == []


def test_an_error_answer_is_retried_later_then_given_up(url: str, settings: Any) -> None:
    settings.NOTIFY_WEBHOOK_MAX_ATTEMPTS = 2
    _Receiver.answer = 503
    event = _event(url)

    _run(WebhookStream(limit=4))
    row = WebhookDelivery.objects.get(pk=event.pk)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 503: busy")
    assert row.next_attempt_at > timezone.now() - timedelta(seconds=1)

    # Due again (the test's transaction fixes Postgres's now(): go back past it).
    due = timezone.now() - timedelta(hours=1)
    WebhookDelivery.objects.filter(pk=event.pk).update(next_attempt_at=due)
    _run(WebhookStream(limit=4))
    row = WebhookDelivery.objects.get(pk=event.pk)
    assert (row.status, row.attempts) == ("failed", 2)


def test_a_410_fails_the_event_and_disables_the_endpoint(url: str) -> None:
    _Receiver.answer = 410
    event = _event(url)
    waiting = WebhookDelivery.objects.create(
        endpoint=event.endpoint,
        event_type="delivery.sent",
        payload={},
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )

    _run(WebhookStream(limit=4))

    endpoint = WebhookEndpoint.objects.get(pk=event.endpoint_id)
    assert not endpoint.active and endpoint.disabled_reason.startswith("410 Gone")
    assert WebhookDelivery.objects.get(pk=event.pk).status == "failed"
    assert WebhookDelivery.objects.get(pk=waiting.pk).status == "failed"


def test_a_private_target_is_refused_for_good_when_not_allowed(url: str, settings: Any) -> None:
    event = _event(url)
    settings.NOTIFY_WEBHOOKS_ALLOW_PRIVATE = False

    _run(WebhookStream(limit=4))

    row = WebhookDelivery.objects.get(pk=event.pk)
    assert row.status == "failed" and row.last_error.startswith("refused:")
    assert _Receiver.seen == []


def test_old_settled_events_are_purged_and_pending_ones_kept(url: str, settings: Any) -> None:
    settings.NOTIFY_WEBHOOK_RETENTION_DAYS = 7
    old_sent = _event(url, status="sent")
    old_pending = WebhookDelivery.objects.create(
        endpoint=old_sent.endpoint,
        event_type="delivery.sent",
        payload={},
        next_attempt_at=timezone.now(),
    )
    recent = WebhookDelivery.objects.create(
        endpoint=old_sent.endpoint,
        event_type="delivery.sent",
        payload={},
        status="failed",
        next_attempt_at=timezone.now(),
    )
    long_ago = timezone.now() - timedelta(days=8)
    WebhookDelivery.objects.filter(pk__in=[old_sent.pk, old_pending.pk]).update(created_at=long_ago)

    assert webhook_deliveries_purge() == 1
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {old_pending.pk, recent.pk}
