"""The digests page: open digests first, flush now and cancel through the services; and a
recipient's digest choice checked like the API checks it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from notify.models import Category, Digest, DigestChoice, Recipient
from tests.admin.helpers import messages_of, run_action, shown_ids

URL = "/admin/notify/digest/"


def _digest(recipient: Recipient, key: str, status: str = "open") -> Digest:
    return Digest.objects.create(
        tenant=recipient.tenant,
        recipient=recipient,
        key=key,
        rule="daily@09:00",
        template_key="t",
        status=status,
        flush_at=timezone.now() + timedelta(hours=3),
        count=4,
    )


def test_open_digests_are_listed_with_recipient_count_and_flush_time(
    admin_client: Client, recipient: Recipient
) -> None:
    waiting, done = _digest(recipient, "a"), _digest(recipient, "b", status="sent")
    response = admin_client.get(URL)
    assert shown_ids(response) == {waiting.pk}
    page = response.content.decode()
    assert recipient.external_id in page and ">4<" in page
    assert shown_ids(admin_client.get(URL, {"status": "all"})) == {waiting.pk, done.pk}


def test_flush_now_and_cancel(admin_client: Client, recipient: Recipient) -> None:
    soon, dropped, sent = (_digest(recipient, k) for k in ("soon", "dropped", "sent"))
    Digest.objects.filter(pk=sent.pk).update(status="sent")
    flushed = run_action(admin_client, URL, "flush_now", [soon, sent])
    assert "1 digest due now" in " ".join(messages_of(flushed))
    soon.refresh_from_db()
    assert soon.flush_at <= timezone.now() and soon.status == "open"
    run_action(admin_client, URL, "cancel_open", [dropped])
    dropped.refresh_from_db()
    assert dropped.status == "cancelled" and "admin" in dropped.last_error


def test_a_digest_choice_with_a_bad_rule_is_refused(
    admin_client: Client, recipient: Recipient, db: Any
) -> None:
    category = Category.objects.create(tenant=recipient.tenant, key="marketing")
    form = {"recipient": recipient.pk, "category": category.pk}
    refused = admin_client.post("/admin/notify/digestchoice/add/", {**form, "rule": "daily@9"})
    assert refused.status_code == 200 and not DigestChoice.objects.exists()
    saved = admin_client.post("/admin/notify/digestchoice/add/", {**form, "rule": "daily@18:00"})
    assert saved.status_code == 302
    assert DigestChoice.objects.get().rule == "daily@18:00"
