"""Broadcast chunks are accepted in bulk, but each recipient must get exactly what a single
request would have given them: the same channels, skips, holds and rendered text."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from notify.models import ApiKey, Delivery, Notification, Recipient, Template
from notify.services.accepting.batch import notification_submit
from notify.services.audiences.broadcasts import (
    broadcast_cancel,
    broadcast_create,
    broadcast_expand,
)
from notify.services.audiences.fanout import notifications_fan_out
from notify.services.audiences.progress import broadcast_progress
from notify.services.recipients.categories import category_save
from notify.services.recipients.preferences import preferences_set
from notify.services.recipients.recipients import device_register, recipient_upsert
from notify.services.recipients.suppressions import suppression_add

pytestmark = pytest.mark.django_db

MESSAGE: dict[str, Any] = {
    "template": "news",
    "category": "marketing",
    "data": {"headline": "Spring sale"},
}


def _people(api_key: ApiKey) -> list[dict[str, Any]]:
    """Recipients who each exercise one rule, plus plain ones."""
    tenant = api_key.tenant
    category_save(tenant=tenant, key="marketing", name="Marketing")
    Template.objects.create(
        tenant=tenant,
        key="news",
        content={
            "email": {"subject": "{{ headline }}", "text": "Hi {{ recipient.id }}"},
            "sms": {"text": "{{ headline }} for {{ recipient.id }}"},
            "push": {"title": "{{ headline }}"},
        },
    )
    Template.objects.create(
        tenant=tenant,
        key="news",
        locale="fr",
        content={"email": {"subject": "Soldes : {{ headline }}", "text": "Bonjour"}},
    )
    opted_out = recipient_upsert(tenant=tenant, external_id="opted-out", email="o@example.com")
    preferences_set(recipient=opted_out, choices={"marketing": {"email": False}})
    suppression_add(tenant=tenant, channel="email", address="bounced@example.com", reason="bounce")
    quiet = recipient_upsert(
        tenant=tenant, external_id="asleep", phone="+14155552671", timezone="UTC"
    )
    Recipient.objects.filter(pk=quiet.pk).update(
        quiet_hours_start=time(0, 0), quiet_hours_end=time(23, 59, 59)
    )
    with_device = recipient_upsert(tenant=tenant, external_id="phone-app")
    device_register(recipient=with_device, token="tok-1", platform="android")
    device_register(recipient=with_device, token="tok-2", platform="ios")
    return [
        {"id": "plain", "email": "plain@example.com", "phone": "+14155552672"},
        {"id": "opted-out", "phone": "+14155552673"},
        {"id": "bounced", "email": "bounced@example.com"},
        {"id": "asleep"},
        {"id": "phone-app"},
        {"id": "french", "email": "fr@example.com", "locale": "fr-CA"},
        {"id": "nobody"},
    ]


def _outcome(notification: Notification) -> list[tuple[Any, ...]]:
    return sorted(
        (d.channel, d.to, d.status, d.error_code, d.device_id is not None)
        for d in notification.deliveries.all()
    )


def _unsigned(content: dict[str, Any]) -> dict[str, Any]:
    email = content.get("email")
    if email is None:
        return content
    headers = email.get("headers", {})
    return {**content, "email": {**email, "headers": sorted(headers)}}


@override_settings(NOTIFY_FREQUENCY_CAP="")
def test_a_chunk_gives_each_recipient_what_a_single_request_would(
    api_key: tuple[ApiKey, str],
) -> None:
    key = api_key[0]
    people = _people(key)
    with transaction.atomic():
        report = notifications_fan_out(
            api_key=key,
            request=MESSAGE,
            people=[(f"chunk:{p['id']}", p) for p in people],
            broadcast_id=None,
        )
    assert (report.accepted, report.unreachable, report.refused) == (6, 1, 0)
    for person in people[:-1]:
        single = notification_submit(
            api_key=key,
            data={**MESSAGE, "recipient": person},
            idempotency_key=f"single:{person['id']}",
            fingerprint="",
        ).notification
        bulk = Notification.objects.get(idempotency_key=f"chunk:{person['id']}")
        assert _outcome(bulk) == _outcome(single), person["id"]
        # The unsubscribe link is signed with a timestamp: compare it by presence.
        assert _unsigned(bulk.content) == _unsigned(single.content)
        assert bulk.template_version == single.template_version
    french = Notification.objects.get(idempotency_key="chunk:french")
    assert french.content["email"]["subject"] == "Soldes : Spring sale"
    assert "List-Unsubscribe" in french.content["email"]["headers"]
    held = Delivery.objects.get(notification__idempotency_key="chunk:asleep")
    assert held.error_code == "quiet_hours"


def test_a_chunk_run_again_creates_nothing_new(api_key: tuple[ApiKey, str]) -> None:
    key = api_key[0]
    people = [{"id": f"p{i}", "email": f"p{i}@example.com"} for i in range(20)]
    request = {"content": {"email": {"subject": "Hi", "text": "t"}}}
    pairs = [(f"b:{i}", p) for i, p in enumerate(people)]
    with transaction.atomic():
        first = notifications_fan_out(api_key=key, request=request, people=pairs, broadcast_id=None)
    with transaction.atomic():
        again = notifications_fan_out(api_key=key, request=request, people=pairs, broadcast_id=None)
    assert (first.accepted, again.accepted, again.replayed) == (20, 0, 20)
    assert Delivery.objects.count() == 20


def test_one_recipient_the_message_cannot_be_rendered_for_does_not_stop_the_others(
    api_key: tuple[ApiKey, str],
) -> None:
    request = {"content": {"sms": {"text": "Code for {{ recipient.email }}"}}}
    people = [
        {"id": "a", "phone": "+14155552671", "email": "a@example.com"},
        {"id": "b", "phone": "+14155552672"},  # no email: the variable is missing
    ]
    with transaction.atomic():
        report = notifications_fan_out(
            api_key=api_key[0],
            request=request,
            people=[(f"r:{p['id']}", p) for p in people],
            broadcast_id=None,
        )
    assert (report.accepted, report.refused) == (1, 1)
    assert list(Delivery.objects.values_list("to", flat=True)) == ["+14155552671"]


@override_settings(NOTIFY_FREQUENCY_CAP="2/h")
def test_the_frequency_cap_counts_what_each_recipient_already_received(
    api_key: tuple[ApiKey, str],
) -> None:
    key = api_key[0]
    request = {"content": {"email": {"subject": "Hi", "text": "t"}}}
    busy = {"id": "busy", "email": "busy@example.com"}
    for n in range(2):
        notification_submit(
            api_key=key,
            data={**request, "recipient": busy},
            idempotency_key=f"s{n}",
            fingerprint="",
        )
    fresh = {"id": "fresh", "email": "fresh@example.com"}
    with transaction.atomic():
        notifications_fan_out(
            api_key=key,
            request=request,
            people=[("c:busy", busy), ("c:fresh", fresh)],
            broadcast_id=None,
        )
    assert Delivery.objects.get(notification__idempotency_key="c:busy").error_code == (
        "frequency_cap"
    )
    assert Delivery.objects.get(notification__idempotency_key="c:fresh").status == "pending"


def test_a_chunk_costs_a_fixed_number_of_queries(api_key: tuple[ApiKey, str]) -> None:
    """Cost linear in recipients means per-chunk queries, not per-person ones."""
    request = {
        "content": {"email": {"subject": "Hi", "text": "t"}, "push": {"title": "t"}},
        "category": "news",
    }

    def run(n: int, prefix: str) -> int:
        people = [{"id": f"{prefix}{i}", "email": f"{prefix}{i}@example.com"} for i in range(n)]
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            notifications_fan_out(
                api_key=api_key[0],
                request=request,
                people=[(f"{prefix}:{i}", p) for i, p in enumerate(people)],
                broadcast_id=None,
            )
        return len(queries)

    assert run(300, "big") == run(10, "small")


# Four nested loops over 100 items: 100,000,000 iterations without a render budget.
POISON = (
    "{% for a in l %}{% for b in l %}{% for c in l %}{% for d in l %}{{ d }}"
    "{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
)


@override_settings(NOTIFY_RENDER_MAX_SECONDS=60)  # the loop cap, not the clock, stops it
def test_a_broadcast_expands_past_recipients_whose_template_is_over_budget(
    api_key: tuple[ApiKey, str],
) -> None:
    key = api_key[0]
    Template.objects.create(
        tenant=key.tenant, key="promo", content={"sms": {"text": "{{ l|length }} offers"}}
    )
    Template.objects.create(
        tenant=key.tenant, key="promo", locale="fr", content={"sms": {"text": POISON}}
    )
    people = [
        {"id": "en1", "phone": "+14155552671"},
        {"id": "fr1", "phone": "+14155552672", "locale": "fr"},
        {"id": "en2", "phone": "+14155552673"},
        {"id": "fr2", "phone": "+14155552674", "locale": "fr-CA"},
        {"id": "en3", "phone": "+14155552675"},
    ]
    message = {"template": "promo", "data": {"l": list(range(100))}}
    broadcast = broadcast_create(api_key=key, message=message, recipients=people, topic=None)

    assert broadcast_expand(broadcast_id=broadcast.pk) is False

    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.expanded, broadcast.total) == ("expanded", 5, 5)
    sent = Delivery.objects.filter(status="pending").order_by("to")
    assert [(d.to, d.notification.content["sms"]["text"]) for d in sent] == [
        ("+14155552671", "100 offers"),
        ("+14155552673", "100 offers"),
        ("+14155552675", "100 offers"),
    ]
    skipped = Delivery.objects.filter(status="skipped").order_by("to")
    assert [(d.to, d.error_code) for d in skipped] == [
        ("+14155552672", "render_limit"),
        ("+14155552674", "render_limit"),
    ]
    for delivery in skipped:
        assert "NOTIFY_RENDER_MAX_LOOP_ITERATIONS" in delivery.last_error
    assert broadcast_progress(broadcast_id=broadcast.pk) == {"pending": 3, "skipped": 2}


@override_settings(NOTIFY_BROADCAST_CHUNK=2)
def test_a_broadcast_that_cannot_render_at_all_still_finishes_and_can_be_cancelled(
    api_key: tuple[ApiKey, str],
) -> None:
    message = {"content": {"sms": {"text": "{{ x|ljust:'500000000' }}"}}, "data": {"x": "a"}}
    people = [{"id": f"p{i}", "phone": f"+1415555267{i}"} for i in range(5)]
    broadcast = broadcast_create(api_key=api_key[0], message=message, recipients=people, topic=None)

    runs = 1
    while broadcast_expand(broadcast_id=broadcast.pk):
        runs += 1

    broadcast.refresh_from_db()
    assert (runs, broadcast.status, broadcast.expanded) == (3, "expanded", 5)
    assert Notification.objects.filter(broadcast=broadcast).count() == 5
    assert set(Delivery.objects.values_list("status", "error_code")) == {
        ("skipped", "render_limit")
    }
    # Nothing is left for cancel to stop, and nothing waits on a lock.
    assert broadcast_cancel(broadcast=broadcast) == 0
    broadcast.refresh_from_db()
    assert broadcast.status == "cancelled"
