"""The notifications list and detail, as an operator sees them: rows, derived status,
search, filters, the attempt timeline and the retry/cancel actions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.test import Client

from notify.models import Delivery, Notification, Recipient
from notify.models.notifications import Priority
from tests.admin.helpers import (
    make_attempt,
    make_delivery,
    make_notification,
    make_recipient,
    messages_of,
    run_action,
    shown,
    shown_ids,
)

URL = "/admin/notify/notification/"


def test_the_list_shows_recipient_derived_status_and_channels(
    admin_client: Client, recipient: Recipient
) -> None:
    failed = make_notification(recipient, ("email", "failed"), ("sms", "failed"))
    mixed = make_notification(
        recipient, ("email", "sent"), ("push", "pending"), ("push", "pending")
    )

    response = admin_client.get(URL)

    assert [n.pk for n in shown(response)] == [mixed.pk, failed.pk]
    page = response.content.decode()
    assert "Notify operations" in page
    assert "user-1" in page
    assert "email: failed · sms: failed" in page
    assert "email: sent · push: 2 pending" in page
    assert '<td class="field-status">pending</td>' in page
    assert '<td class="field-status">failed</td>' in page


def test_search_by_email_or_phone_finds_the_recipients_notifications(
    admin_client: Client, db: Any
) -> None:
    alice = make_notification(make_recipient("alice"), ("email", "sent"))
    bob = make_notification(
        make_recipient("bob", email="bob@example.org", phone="+447911123456"), ("sms", "sent")
    )

    assert shown_ids(admin_client.get(URL, {"q": "alice@example.com"})) == {alice.pk}
    assert shown_ids(admin_client.get(URL, {"q": "+447911"})) == {bob.pk}
    assert shown_ids(admin_client.get(URL, {"q": "bob"})) == {bob.pk}


def test_search_by_notification_id_is_an_exact_match(
    admin_client: Client, recipient: Recipient
) -> None:
    wanted = make_notification(recipient, ("email", "sent"))
    make_notification(recipient, ("email", "sent"))

    assert shown_ids(admin_client.get(URL, {"q": str(wanted.pk)})) == {wanted.pk}


def test_delivery_filters_keep_notifications_having_a_matching_delivery(
    admin_client: Client, recipient: Recipient
) -> None:
    failed_sms = make_notification(recipient, ("email", "sent"), ("sms", "failed"))
    sent_email = make_notification(recipient, ("email", "sent"))
    push = make_notification(recipient, ("push", "pending"), ("push", "pending"))

    assert shown_ids(admin_client.get(URL, {"delivery_status": "failed"})) == {failed_sms.pk}
    assert shown_ids(admin_client.get(URL, {"delivery_status": "sent"})) == {
        failed_sms.pk,
        sent_email.pk,
    }
    # Two matching deliveries must not list the notification twice.
    assert [n.pk for n in shown(admin_client.get(URL, {"channel": "push"}))] == [push.pk]
    assert shown_ids(admin_client.get(URL, {"provider": "twilio"})) == {failed_sms.pk}


def test_priority_and_category_filters_narrow_the_list(
    admin_client: Client, recipient: Recipient
) -> None:
    urgent = make_notification(
        recipient, ("email", "sent"), priority=Priority.CRITICAL, category="security"
    )
    make_notification(recipient, ("email", "sent"))

    assert shown_ids(admin_client.get(URL, {"priority__exact": "0"})) == {urgent.pk}
    assert shown_ids(admin_client.get(URL, {"category": "security"})) == {urgent.pk}


def test_the_detail_page_shows_content_deliveries_and_the_attempt_timeline(
    admin_client: Client, recipient: Recipient
) -> None:
    notification = make_notification(recipient)
    delivery = make_delivery(
        notification,
        "email",
        "failed",
        error_code="mailbox_full",
        provider_message_id="<abc@smtp>",
        attempts=2,
        last_error="552 mailbox full",
    )
    make_attempt(
        delivery,
        1,
        "transient",
        error_code="timeout",
        error_message="read timed out",
        duration_ms=5003,
    )
    make_attempt(
        delivery,
        2,
        "permanent",
        error_code="mailbox_full",
        error_message="552 <script>alert(1)</script>",
    )

    response = admin_client.get(f"{URL}{notification.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Attempt timeline" in page and page.count('class="attempt-timeline"') == 1
    assert page.count("<tr><td>") == 2  # one row per attempt
    assert "<td>1</td>" in page and "<td>5003&nbsp;ms</td>" in page
    assert (
        "read timed out" in page and "<td>Transient</td>" in page and "<td>Permanent</td>" in page
    )
    # Provider text is escaped, never rendered as HTML.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "552 mailbox full" in page and "&lt;abc@smtp&gt;" in page
    # One date format: the notification's and the deliveries' dates as the attempts' are.
    created = notification.created_at.strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert f'<div class="readonly">{created}</div>' in page
    assert "a.m." not in page and "p.m." not in page
    # The rendered content, pretty-printed and escaped.
    assert "&quot;subject&quot;: &quot;Hello&quot;" in page
    assert "Hi &lt;b&gt;there&lt;/b&gt;" in page


def test_the_detail_page_is_read_only(admin_client: Client, recipient: Recipient) -> None:
    notification = make_notification(recipient, ("email", "failed"))
    url = f"{URL}{notification.pk}/change/"

    page = admin_client.get(url).content.decode()

    assert 'name="_save"' not in page
    assert admin_client.post(url, {"category": "changed"}).status_code == 403
    assert admin_client.get(f"{URL}add/").status_code == 403
    assert Notification.objects.get().category == "account"


def test_retry_puts_failed_deliveries_back_to_pending_and_rings_the_doorbell(
    admin_client: Client, recipient: Recipient, django_capture_on_commit_callbacks: Any
) -> None:
    notification = make_notification(recipient)
    failed = make_delivery(
        notification,
        "email",
        "failed",
        error_code="timeout",
        attempts=8,
        max_attempts=8,
        last_error="gave up",
    )
    sent = make_delivery(notification, "sms", "sent")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = run_action(admin_client, URL, "retry_failed", [notification])

    assert messages_of(response) == ["1 delivery put back in line for sending."]
    failed.refresh_from_db()
    assert (failed.status, failed.error_code, failed.max_attempts) == ("pending", "", 16)
    assert Delivery.objects.get(pk=sent.pk).status == "sent"
    # The doorbell (a real publish to Redis) is rung once the retry commits. Whether its key
    # is still there is not asserted: any worker on the test Redis may have cleared it.
    assert len(callbacks) == 1


def test_cancel_cancels_pending_deliveries_and_leaves_sent_ones_alone(
    admin_client: Client, recipient: Recipient
) -> None:
    first = make_notification(recipient, ("email", "pending"), ("sms", "sent"))
    second = make_notification(recipient, ("push", "pending"))
    untouched = make_notification(recipient, ("email", "pending"))

    response = run_action(admin_client, URL, "cancel_pending", [first, second])

    assert messages_of(response) == ["2 deliveries cancelled."]
    statuses = {(d.notification_id, d.channel): d.status for d in Delivery.objects.all()}
    assert statuses == {
        (first.pk, "email"): "cancelled",
        (first.pk, "sms"): "sent",
        (second.pk, "push"): "cancelled",
        (untouched.pk, "email"): "pending",
    }


def test_an_action_with_nothing_to_do_says_so(admin_client: Client, recipient: Recipient) -> None:
    notification = make_notification(recipient, ("email", "sent"))

    response = run_action(admin_client, URL, "retry_failed", [notification])

    assert messages_of(response) == ["No failed deliveries in the selection; nothing changed."]


def test_the_list_costs_the_same_few_queries_for_30_notifications_with_3_deliveries(
    admin_client: Client, recipient: Recipient, django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        make_notification(recipient, ("email", "sent"), ("sms", "failed"), ("push", "pending"))
    admin_client.get(URL)  # warm the session and content-type caches

    with django_assert_max_num_queries(8):
        response = admin_client.get(URL)

    assert len(shown(response)) == 30


def test_staff_who_may_only_view_get_no_retry_or_cancel(
    client: Client, recipient: Recipient, django_user_model: Any
) -> None:
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_notification", "view_delivery"])
    )
    client.force_login(viewer)
    notification = make_notification(recipient, ("email", "failed"))

    page = client.get(URL).content.decode()
    response = run_action(client, URL, "retry_failed", [notification])

    assert str(notification.pk) in page
    assert "retry_failed" not in page and "cancel_pending" not in page
    assert response.status_code == 200
    assert Delivery.objects.get().status == "failed"
