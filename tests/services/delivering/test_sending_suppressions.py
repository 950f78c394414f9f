"""An address suppressed after the API accepted the message (a bounce, a STOP) is skipped at
send and never reaches the provider: the claim matches suppressions as they are stored, on
every channel, and so does the one-task-per-delivery baseline."""

from __future__ import annotations

from typing import Any

import redis

from notify.models import Delivery, DeliveryAttempt
from notify.services.delivering.sending import DeliveryStream, deliveries_claim
from notify.services.recipients.suppressions import suppressed, suppression_add
from tests.harness import Sandbox
from tests.services import rows
from tests.services.rows import forget_provider_state


def test_an_address_suppressed_after_accept_is_skipped_at_send_and_never_reaches_the_provider(
    db: Any, sandbox: Sandbox, redis_db: redis.Redis
) -> None:
    """A bounce (or STOP) recorded between the API's accept and the claim: the claim sees it
    and the message is never sent; the other addresses go out as usual."""
    forget_provider_state(redis_db)
    notification = rows.notification_for("u-late-bounce")
    kept, bounced = rows.deliveries(notification, 2, to="late-{i}@example.com")
    suppression_add(
        tenant="default", channel="email", address="LATE-1@example.com", reason="bounced"
    )
    # Another tenant's suppression of the kept address is not this tenant's business.
    suppression_add(tenant="other", channel="email", address=kept.to, reason="bounced")
    stream = DeliveryStream(channel="email", lane="standard", limit=10)

    claimed = stream.claim(10)
    stream.record([(claimed.token, item, stream.send(item)) for item in claimed.items])

    skipped, sent = Delivery.objects.get(id=bounced.id), Delivery.objects.get(id=kept.id)
    assert (skipped.status, skipped.error_code) == ("skipped", "suppressed")
    assert (skipped.provider, skipped.provider_message_id, skipped.sent_at) == ("", "", None)
    assert "bounced" in skipped.last_error and skipped.lease_token is None
    assert not DeliveryAttempt.objects.filter(delivery=skipped).exists()
    assert (sent.status, sent.provider) == ("sent", "smtp")
    assert [m["to"] for m in sandbox.messages(provider="smtp")] == [kept.to]


def test_the_claim_matches_suppressions_as_they_are_stored_on_every_channel(
    db: Any, redis_db: redis.Redis
) -> None:
    """The claim looks suppressions up in its own statement: an email address in another
    case, one with non-ASCII letters or stray spaces (checked the Python way) and a phone
    number are all matched the way suppression_add() stored them."""
    forget_provider_state(redis_db)
    notification = rows.notification_for("u-fold")
    upper, accented, spaced, kept = rows.deliveries(notification, 4, to="{i}", max_attempts=3)
    for delivery, to in zip(
        (upper, accented, spaced, kept),
        ("Ada.Upper@Example.COM", "ÉLISE@exemple.fr", " spaced@example.com ", "ok@example.com"),
        strict=True,
    ):
        Delivery.objects.filter(id=delivery.id).update(to=to)
    for address in ("ada.upper@example.com", "élise@exemple.fr", "spaced@example.com"):
        suppression_add(tenant="default", channel="email", address=address, reason="bounced")
    [sms] = rows.deliveries(notification, 1, channel="sms", to="+14155550199")
    suppression_add(tenant="default", channel="sms", address=sms.to, reason="unsubscribed")

    email = DeliveryStream(channel="email", lane="standard", limit=10).claim(10)
    texts = DeliveryStream(channel="sms", lane="standard", limit=10).claim(10)

    known = {item.delivery.to: item.known for item in email.items + texts.items}
    assert known["ok@example.com"] is None
    for to in ("Ada.Upper@Example.COM", "ÉLISE@exemple.fr", " spaced@example.com "):
        assert known[to] is not None and "bounced" in known[to].skipped
    assert known[sms.to] is not None and "unsubscribed" in known[sms.to].skipped
    # What the send needs came with the claim, as the ORM would have loaded it.
    [item] = [i for i in email.items if i.delivery.to == "ok@example.com"]
    assert item.message.content == {"subject": "s", "text": "t"}
    assert item.delivery.attempts == 1 and item.delivery.notification.tenant == "default"


def test_the_one_task_per_delivery_baseline_also_skips_a_late_suppression(
    db: Any, sandbox: Sandbox, redis_db: redis.Redis
) -> None:
    from notify.services.delivering.sending import deliveries_send

    forget_provider_state(redis_db)
    notification = rows.notification_for("u-late-stop")
    kept, stopped = rows.deliveries(notification, 2, to="base-{i}@example.com")
    [refused] = rows.deliveries(notification, 1, to="gone@bounce.example")  # the sandbox: 550
    suppression_add(tenant="default", channel="email", address=stopped.to, reason="bounced")
    token, claimed = deliveries_claim(channel="email", lane="standard", limit=10)

    deliveries_send(channel="email", token=token, deliveries=claimed)

    ids = [kept.id, stopped.id, refused.id]
    statuses = dict(Delivery.objects.filter(id__in=ids).values_list("to", "status"))
    assert statuses == {kept.to: "sent", stopped.to: "skipped", refused.to: "failed"}
    # The refusal suppressed the address on its channel, for this tenant.
    assert suppressed(tenant="default", channel="email", addresses=[refused.to]) == {
        refused.to: "bounced"
    }
    [received] = sandbox.accepted(provider="smtp")
    assert received["to"] == kept.to
    assert received["delivery_id"] == str(kept.id)
