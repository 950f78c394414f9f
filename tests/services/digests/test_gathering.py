"""Digests through the API and the flush: what joins, what the recipient is sent, and what
each joined notification says about it. Broadcasts and batches joining digests, and what
joining costs, are in test_gathering_bulk.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from notify.models import ApiKey, Category, Digest, DigestChoice, Notification, Template
from notify.services.accepting.digest_flush import digest_flush, digests_claim
from notify.services.access.apikeys import api_key_create
from notify.services.digests.gathering import digests_cancel, digests_flush_now
from notify.services.recipients.recipients import recipient_upsert
from notify.services.workers.sweeper import deliveries_sweep
from tests.services.digests.comments import COMMENTS, comment, flush_all

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("comments_template")]


def test_messages_with_one_key_are_sent_as_one_email_listing_all_of_them(api: APIClient) -> None:
    joined = [comment(api, n) for n in range(3)]
    first = joined[0]
    assert first["status"] == "pending"
    assert first["digest"]["key"] == "post-1" and first["digest"]["status"] == "open"
    assert {d["error_code"] for d in first["deliveries"]} == {"digest"}
    assert len({j["digest"]["id"] for j in joined}) == 1

    (flushed,) = flush_all()

    assert flushed.status == "sent"
    sent = Notification.objects.get(pk=flushed.notification_id)
    assert sent.content["email"]["subject"] == "3 new comments"
    assert sent.content["email"]["text"] == ("user0: comment 0\nuser1: comment 1\nuser2: comment 2")
    (delivery,) = sent.deliveries.all()
    assert (delivery.status, delivery.to) == ("pending", "ada@example.com")
    body = api.get(f"/api/v1/notifications/{first['id']}/").json()
    assert body["status"] == "skipped"
    assert body["digest"]["status"] == "sent"
    assert {(d["status"], d["error_code"]) for d in body["deliveries"]} == {("skipped", "digested")}
    carrier = api.get(f"/api/v1/notifications/{sent.pk}/").json()
    assert carrier["digest"]["notification_ids"] == [j["id"] for j in joined]
    assert carrier["template"] == "comments"


def test_the_next_message_after_a_flush_opens_a_new_digest(api: APIClient) -> None:
    before = comment(api, 1)
    flush_all()
    after = comment(api, 2)
    assert after["digest"]["id"] != before["digest"]["id"]
    assert after["digest"]["status"] == "open"


def test_a_cancelled_message_is_left_out_and_an_empty_digest_sends_nothing(
    api: APIClient,
) -> None:
    kept, dropped = comment(api, 1), comment(api, 2)
    assert api.post(f"/api/v1/notifications/{dropped['id']}/cancel/").status_code == 200
    (flushed,) = flush_all()
    sent = Notification.objects.get(pk=flushed.notification_id)
    assert sent.content["email"]["subject"] == "1 new comments"
    assert "comment 2" not in sent.content["email"]["text"]
    assert Digest.objects.get().item_ids == [kept["id"]]

    alone = comment(api, 3)
    api.post(f"/api/v1/notifications/{alone['id']}/cancel/")
    before = Notification.objects.count()
    (flushed,) = flush_all()
    assert flushed.status == "cancelled"
    assert Notification.objects.count() == before


def test_critical_messages_never_wait(api: APIClient) -> None:
    body = comment(api, 1, priority="critical")
    assert body["digest"] is None
    assert body["deliveries"][0]["error_code"] == ""
    assert not Digest.objects.exists()


def test_max_items_makes_the_digest_due_at_once(api: APIClient) -> None:
    comment(api, 1, digest={"key": "burst", "window": "1d", "max_items": 2})
    assert Digest.objects.get().flush_at > timezone.now()
    comment(api, 2, digest={"key": "burst", "window": "1d", "max_items": 2})
    token, ids = digests_claim(limit=10)  # due without any operator
    assert len(ids) == 1
    assert digest_flush(digest_id=ids[0], token=token).status == "sent"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"digest": {"key": "k", "window": "10x"}}, "window"),
        ({"digest": {"key": "k", "window": "10m", "schedule": "daily@09:00"}}, "window"),
        ({"digest": {"key": "k", "schedule": "daily@25:00"}}, "schedule"),
        ({"digest": {"key": "not a slug", "window": "10m"}}, "key"),
        ({"digest": {"key": "k", "window": "10m", "max_items": 0}}, "max_items"),
    ],
)
def test_a_bad_digest_is_a_400_on_its_field_and_nothing_is_stored(
    api: APIClient, extra: dict[str, Any], field: str
) -> None:
    body = {
        "recipient": {"id": "ada", "email": "ada@example.com"},
        "template": "comments",
        "data": {"author": "a", "body": "b"},
        **extra,
    }
    response = api.post("/api/v1/notifications/", body, format="json")
    assert response.status_code == 400
    assert field in str(response.json()), response.json()
    assert not Notification.objects.exists() and not Digest.objects.exists()


def test_a_digest_needs_a_template(api: APIClient) -> None:
    body = {
        "recipient": {"id": "ada", "email": "ada@example.com"},
        "content": {"email": {"subject": "s", "text": "t"}},
        "digest": {"key": "k", "window": "10m"},
    }
    response = api.post("/api/v1/notifications/", body, format="json")
    assert response.status_code == 400
    assert "digest" in str(response.json())
    assert not Notification.objects.exists()


def test_tenants_never_share_a_digest(api: APIClient) -> None:
    _, secret = api_key_create(name="other", tenant="other")
    Template.objects.create(tenant="other", key="comments", content=COMMENTS)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    mine, theirs = comment(api, 1), comment(other, 2)
    assert mine["digest"]["id"] != theirs["digest"]["id"]
    assert other.get(f"/api/v1/notifications/{mine['id']}/").status_code == 404
    flush_all()
    subjects = sorted(
        n.content["email"]["subject"] for n in Notification.objects.filter(digest__isnull=True)
    )
    assert subjects == ["1 new comments", "1 new comments"]


def test_an_operator_cancel_closes_the_digest_and_its_messages(api: APIClient) -> None:
    joined = comment(api, 1)
    assert digests_cancel(digest_ids=[joined["digest"]["id"]], reason="spam") == 1
    body = api.get(f"/api/v1/notifications/{joined['id']}/").json()
    assert body["status"] == "cancelled" and body["digest"]["status"] == "cancelled"
    assert flush_all() == []


def test_a_recipients_digest_choice_for_a_category_batches_its_messages(
    api: APIClient, api_key: tuple[ApiKey, str]
) -> None:
    tenant = api_key[0].tenant
    marketing = Category.objects.create(tenant=tenant, key="marketing")
    person = recipient_upsert(tenant=tenant, external_id="ada", email="ada@example.com")
    DigestChoice.objects.create(recipient=person, category=marketing, rule="daily@18:00")
    # A template written for one message: the flush renders it with the newest message's
    # data, and `digest` on top.
    Template.objects.create(
        tenant=tenant,
        key="promo",
        content={
            "email": {
                "subject": "{{ body }}{% if digest %} (+{{ digest.count }}){% endif %}",
                "text": "Hello",
            }
        },
    )
    promo: dict[str, Any] = {"template": "promo", "category": "marketing", "digest": None}
    body = comment(api, 1, **promo)
    assert body["digest"]["key"] == "category-marketing"
    assert Digest.objects.get().rule == "daily@18:00"
    comment(api, 2, **promo)
    elsewhere = comment(api, 3, who="bob", **promo)
    assert elsewhere["digest"] is None
    assert elsewhere["deliveries"][0]["error_code"] == ""
    (flushed,) = flush_all()
    sent = Notification.objects.get(pk=flushed.notification_id)
    assert sent.content["email"]["subject"] == "comment 2 (+2)"
    assert sent.category == "marketing"


@override_settings(NOTIFY_FREQUENCY_CAP="2/1h")
def test_a_digest_counts_once_towards_the_frequency_cap(api: APIClient) -> None:
    for n in range(3):
        comment(api, n)
    (flushed,) = flush_all()
    (delivery,) = Notification.objects.get(pk=flushed.notification_id).deliveries.all()
    assert (delivery.status, delivery.error_code) == ("pending", "")


def test_the_sweeper_rings_the_digest_stream_only_when_one_is_due(
    api: APIClient, redis_db: Any
) -> None:
    comment(api, 1)
    redis_db.delete("notify:wake:digests", "notify:bell:digests")
    assert "digests" not in deliveries_sweep().rung
    digests_flush_now(digest_ids=list(Digest.objects.values_list("id", flat=True)))
    assert "digests" in deliveries_sweep().rung
    assert redis_db.llen("notify:wake:digests") == 1
