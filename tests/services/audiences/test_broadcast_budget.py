"""A broadcast's messages share one render budget (NOTIFY_RENDER_MAX_BROADCAST_SECONDS),
kept on its row across chunks and worker processes: once it is spent the broadcast stops
expanding, ends `halted` with a reason, and nobody after that point gets a message. A
chunk of slow renders commits what it rendered after NOTIFY_DRAIN_BUDGET_SECONDS."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import override_settings

from notify.models import ApiKey, Broadcast, Delivery, Notification, Template
from notify.services.audiences.broadcasts import (
    broadcast_cancel,
    broadcast_create,
    broadcast_expand,
)
from notify.services.audiences.progress import broadcast_progress

pytestmark = pytest.mark.django_db

# 100,000,000 iterations: with the loop and output caps and the message's own budget out of
# the way, only the broadcast's budget stops it.
ENDLESS = (
    "{% for a in l %}{% for b in l %}{% for c in l %}{% for d in l %}{{ d }}"
    "{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
)
only_the_broadcast_budget = override_settings(
    NOTIFY_RENDER_MAX_SECONDS=60,
    NOTIFY_RENDER_MAX_LOOP_ITERATIONS=10**9,
    NOTIFY_RENDER_MAX_OUTPUT_CHARS=10**9,
    NOTIFY_RENDER_MAX_BROADCAST_SECONDS=0.3,
)
PLAIN = {"content": {"sms": {"text": "Hi {{ recipient.id }}"}}}


def _people(*ids: str) -> list[dict[str, Any]]:
    return [
        {"id": i, "phone": f"+1415555267{n}", **({"locale": "fr"} if "fr" in i else {})}
        for n, i in enumerate(ids)
    ]


def _sent_to(broadcast: Broadcast) -> list[str]:
    rows = Notification.objects.filter(broadcast=broadcast).order_by("recipient__external_id")
    return list(rows.values_list("recipient__external_id", flat=True))


@only_the_broadcast_budget
def test_a_broadcast_halts_where_its_render_budget_runs_out(
    api_key: tuple[ApiKey, str],
) -> None:
    key = api_key[0]
    Template.objects.create(tenant=key.tenant, key="promo", content={"sms": {"text": "Offers"}})
    Template.objects.create(
        tenant=key.tenant, key="promo", locale="fr", content={"sms": {"text": ENDLESS}}
    )
    message = {"template": "promo", "data": {"l": list(range(100))}}
    people = _people("en1", "en2", "fr1", "en3", "en4")
    broadcast = broadcast_create(api_key=key, message=message, recipients=people, topic=None)

    began = time.monotonic()
    assert broadcast_expand(broadcast_id=broadcast.pk) is False
    took = time.monotonic() - began

    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.expanded, broadcast.total) == ("halted", 2, 5)
    assert broadcast.reason == (
        "Halted after 2 of 5 recipients: the broadcast's messages together took more than "
        "0.3 s to render (NOTIFY_RENDER_MAX_BROADCAST_SECONDS). The others were not sent the "
        "message."
    )
    # fr1's render was cut when the broadcast's budget ran out, not after its own 60 s.
    assert 0.3 <= broadcast.render_seconds < 5 and took < 10
    # Those before it were sent; fr1 and everyone after it (en3, en4) get nothing.
    assert _sent_to(broadcast) == ["en1", "en2"]
    assert broadcast_progress(broadcast_id=broadcast.pk) == {"pending": 2}

    # Halted is final: no task, sweeper or retry expands it further.
    assert broadcast_expand(broadcast_id=broadcast.pk) is False
    assert Notification.objects.count() == 2
    # It can still be cancelled: what was expanded and not yet sent is.
    assert broadcast_cancel(broadcast=broadcast) == 2
    broadcast.refresh_from_db()
    assert broadcast.status == "cancelled"


@override_settings(NOTIFY_BROADCAST_CHUNK=2, NOTIFY_RENDER_MAX_BROADCAST_SECONDS=30)
def test_the_time_spent_is_kept_on_the_row_for_the_next_chunk_wherever_it_runs(
    api_key: tuple[ApiKey, str],
) -> None:
    people = _people("p0", "p1", "p2", "p3", "p4")
    broadcast = broadcast_create(api_key=api_key[0], message=PLAIN, recipients=people, topic=None)

    assert broadcast_expand(broadcast_id=broadcast.pk) is True
    first = Broadcast.objects.get(pk=broadcast.pk).render_seconds
    assert broadcast_expand(broadcast_id=broadcast.pk) is True
    second = Broadcast.objects.get(pk=broadcast.pk).render_seconds
    assert 0 < first < second < 1
    # The chunks so far (in other worker processes, say) used up the budget: the next one
    # renders nothing.
    Broadcast.objects.filter(pk=broadcast.pk).update(render_seconds=30)

    assert broadcast_expand(broadcast_id=broadcast.pk) is False

    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.expanded) == ("halted", 4)
    assert broadcast.reason.startswith("Halted after 4 of 5 recipients: ")
    assert _sent_to(broadcast) == ["p0", "p1", "p2", "p3"]
    assert Delivery.objects.filter(to=people[4]["phone"]).count() == 0


@override_settings(NOTIFY_BROADCAST_CHUNK=500, NOTIFY_DRAIN_BUDGET_SECONDS=0)
def test_a_chunk_commits_what_it_rendered_once_it_has_rendered_for_the_drain_budget(
    api_key: tuple[ApiKey, str],
) -> None:
    # A chunk of slow renders must commit (and charge its time to the broadcast) within the
    # task's time limit: here each chunk hands over after one recipient, and yet every
    # recipient is reached once.
    people = _people("p0", "p1", "p2")
    broadcast = broadcast_create(api_key=api_key[0], message=PLAIN, recipients=people, topic=None)

    more = [broadcast_expand(broadcast_id=broadcast.pk) for _ in range(3)]

    broadcast.refresh_from_db()
    assert more == [True, True, False]
    assert (broadcast.status, broadcast.expanded, broadcast.reason) == ("expanded", 3, "")
    assert _sent_to(broadcast) == ["p0", "p1", "p2"]


@override_settings(NOTIFY_RENDER_MAX_BROADCAST_SECONDS=0)
def test_with_no_budget_at_all_nothing_is_rendered_or_sent(api_key: tuple[ApiKey, str]) -> None:
    people = _people("p0", "p1")
    broadcast = broadcast_create(api_key=api_key[0], message=PLAIN, recipients=people, topic=None)

    assert broadcast_expand(broadcast_id=broadcast.pk) is False

    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.expanded, broadcast.render_seconds) == ("halted", 0, 0)
    assert not Notification.objects.exists()
