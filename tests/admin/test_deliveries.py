"""The deliveries list: masked addresses, filters, search, the timeline and the actions."""

from __future__ import annotations

from django.test import Client

from notify.models import Delivery, Recipient
from tests.admin.helpers import (
    make_attempt,
    make_delivery,
    make_notification,
    messages_of,
    run_action,
    shown_ids,
)

URL = "/admin/notify/delivery/"


def test_the_list_masks_addresses_but_search_uses_the_full_value(
    admin_client: Client, recipient: Recipient
) -> None:
    notification = make_notification(
        recipient, ("email", "sent"), ("sms", "sent"), ("push", "sent")
    )

    response = admin_client.get(URL)

    page = response.content.decode()
    assert shown_ids(response) == set(notification.deliveries.values_list("pk", flat=True))
    assert "a***@example.com" in page
    assert "+1415***2671" in page
    assert "abcd…wxyz" in page
    for full in ("alice@example.com", "+14155552671", "abcdTOKEN-0123456789"):
        assert full not in page
    email = notification.deliveries.get(channel="email")
    assert shown_ids(admin_client.get(URL, {"q": "alice@example.com"})) == {email.pk}


def test_filters_narrow_the_list(admin_client: Client, recipient: Recipient) -> None:
    notification = make_notification(recipient)
    bounced = make_delivery(notification, "email", "failed", error_code="mailbox_full")
    sms = make_delivery(notification, "sms", "failed", error_code="invalid_number")
    push = make_delivery(notification, "push", "sent")

    assert shown_ids(admin_client.get(URL, {"status__exact": "failed"})) == {bounced.pk, sms.pk}
    assert shown_ids(admin_client.get(URL, {"channel": "push"})) == {push.pk}
    assert shown_ids(admin_client.get(URL, {"provider": "twilio"})) == {sms.pk}
    assert shown_ids(admin_client.get(URL, {"error_code": "mailbox_full"})) == {bounced.pk}


def test_search_by_provider_message_id_notification_id_and_external_id(
    admin_client: Client, recipient: Recipient
) -> None:
    first = make_notification(recipient)
    sent = make_delivery(first, "email", "sent", provider_message_id="SM0123456789abcdef")
    other = make_delivery(make_notification(recipient), "sms", "sent")

    assert shown_ids(admin_client.get(URL, {"q": "SM0123456789abcdef"})) == {sent.pk}
    assert shown_ids(admin_client.get(URL, {"q": str(first.pk)})) == {sent.pk}
    assert shown_ids(admin_client.get(URL, {"q": "user-1"})) == {sent.pk, other.pk}
    assert shown_ids(admin_client.get(URL, {"q": "nobody"})) == set()


def test_the_detail_page_shows_the_full_address_and_the_attempt_timeline(
    admin_client: Client, recipient: Recipient
) -> None:
    delivery = make_delivery(make_notification(recipient), "sms", "sent", attempts=2)
    make_attempt(delivery, 1, "ambiguous", error_code="timeout", error_message="no answer")
    make_attempt(delivery, 2, "sent")

    response = admin_client.get(f"{URL}{delivery.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "+14155552671" in page
    assert page.count("<tr><td>") == 2
    assert "<td>Ambiguous</td><td>timeout</td><td>no answer</td>" in page
    assert 'name="_save"' not in page


def test_actions_on_the_deliveries_list(admin_client: Client, recipient: Recipient) -> None:
    notification = make_notification(recipient)
    failed = make_delivery(notification, "email", "failed")
    pending = make_delivery(notification, "sms", "pending")
    sent = make_delivery(notification, "push", "sent")

    retried = run_action(admin_client, URL, "retry_failed", [failed, pending, sent])
    cancelled = run_action(admin_client, URL, "cancel_pending", [pending, sent])

    assert messages_of(retried) == ["1 delivery put back in line for sending."]
    assert messages_of(cancelled) == ["1 delivery cancelled."]
    assert dict(Delivery.objects.values_list("pk", "status")) == {
        failed.pk: "pending",
        pending.pk: "cancelled",
        sent.pk: "sent",
    }


def test_deliveries_cannot_be_added_edited_or_deleted(
    admin_client: Client, recipient: Recipient
) -> None:
    delivery = make_delivery(make_notification(recipient), "email", "failed")

    assert admin_client.get(f"{URL}add/").status_code == 403
    assert admin_client.post(f"{URL}{delivery.pk}/change/", {"status": "sent"}).status_code == 403
    assert admin_client.post(f"{URL}{delivery.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Delivery.objects.get().status == "failed"
