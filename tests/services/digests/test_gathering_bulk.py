"""Digests joined in bulk: a broadcast chunk and batch items join digests as single creates
do, and what joining costs (one statement on top of a plain accept; a batch's in bulk)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.models import ApiKey, Delivery, Digest, Notification, Template
from notify.services.audiences.fanout import notifications_fan_out
from tests.services.digests.comments import comment, flush_all

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("comments_template")]


def test_a_broadcast_chunk_joins_each_recipient_to_their_own_digest(
    api_key: tuple[ApiKey, str],
) -> None:
    request = {
        "template": "comments",
        "data": {"author": "team", "body": "news"},
        "digest": {"key": "weekly", "schedule": "weekly@mon@09:00"},
    }
    people = [(f"b:{i}", {"id": f"p{i}", "email": f"p{i}@example.com"}) for i in range(3)]
    for _ in range(2):  # two broadcasts: the second joins the digests the first opened
        people = [(f"{key}x", person) for key, person in people]
        notifications_fan_out(api_key=api_key[0], request=request, people=people, broadcast_id=None)
    assert Digest.objects.count() == 3
    assert sorted(Digest.objects.values_list("count", flat=True)) == [2, 2, 2]
    held = Delivery.objects.filter(notification__digest__isnull=False)
    assert {(d.status, d.error_code) for d in held} == {("pending", "digest")}
    assert held.count() == 6


def test_batch_items_join_digests_like_single_ones(api: APIClient) -> None:
    comment(api, 0)
    items = [
        {
            "recipient": {"id": "ada", "email": "ada@example.com"},
            "template": "comments",
            "data": {"author": f"user{n}", "body": f"comment {n}"},
            "digest": {"key": "post-1", "window": "10m"},
        }
        for n in (1, 2)
    ]
    for item in items:  # one item per batch: a batch holds one item per recipient per round
        response = api.post(
            "/api/v1/notifications/batch/", {"notifications": [item]}, format="json"
        )
        assert response.status_code in (200, 202, 207), response.content
    assert Digest.objects.get().count == 3
    (flushed,) = flush_all()
    sent = Notification.objects.get(pk=flushed.notification_id)
    assert sent.content["email"]["subject"] == "3 new comments"


def test_joining_a_digest_adds_only_the_digest_upsert_to_a_plain_accept(api: APIClient) -> None:
    """Opening a digest or counting into it is one statement on top of a plain accept (the
    notification and its held deliveries are written as a plain accept's are); a batch pays
    it once per digest rule, not per item (test_a_batch_joins_its_items_in_bulk_...)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost(**extra: Any) -> int:
        with CaptureQueriesContext(connection) as queries:
            comment(api, 1, **extra)
        return len(queries)

    Template.objects.create(key="plain", content={"email": {"subject": "s", "text": "t"}})
    comment(api, 0, digest=None, template="plain")  # the recipient exists: both paths find it
    plain = cost(digest=None, template="plain")
    opening = cost()  # opens the digest
    joining = cost()  # counts into it
    assert opening == joining == plain + 1
    joined = Notification.objects.filter(digest__isnull=False)
    assert joined.count() == 2 and {(n.digest_data or {})["body"] for n in joined} == {"comment 1"}
    assert Digest.objects.get().count == 2


def _batch(api: APIClient, items: list[tuple[str, str, int]]) -> list[dict[str, Any]]:
    body = {
        "notifications": [
            {
                "recipient": {"id": who, "email": f"{who}@example.com"},
                "template": "comments",
                "data": {"author": who, "body": f"comment {n}"},
                "digest": {"key": key, "window": "10m"},
            }
            for who, key, n in items
        ]
    }
    response = api.post("/api/v1/notifications/batch/", body, format="json")
    assert response.status_code == 200, response.content
    results: list[dict[str, Any]] = response.json()["results"]
    assert {r["status"] for r in results} == {202}, results
    return results


def test_a_batch_joins_its_items_in_bulk_each_with_its_own_data(api: APIClient) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost(people: list[str]) -> int:
        items = [(who, key, n) for who in people for key in ("a", "b") for n in range(2)]
        with CaptureQueriesContext(connection) as queries:
            _batch(api, items)
        return len(queries)

    cost(["warm"])  # the first request's one-off lookups
    assert cost(["p1", "p2"]) == cost([f"q{i}" for i in range(8)])
    digests = Digest.objects.filter(recipient__external_id="q3")
    assert sorted(digests.values_list("key", "count")) == [("a", 2), ("b", 2)]
    joined = Notification.objects.filter(digest__in=digests)
    keys: dict[Any, str] = dict(digests.values_list("id", "key"))
    assert sorted((keys[n.digest_id], (n.digest_data or {})["body"]) for n in joined) == [
        ("a", "comment 0"),
        ("a", "comment 1"),
        ("b", "comment 0"),
        ("b", "comment 1"),
    ]
    assert not Delivery.objects.filter(notification__in=joined).exclude(error_code="digest")
