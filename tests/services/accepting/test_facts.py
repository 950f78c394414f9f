"""Facts planning needs, fetched up front for a list of people: one query per kind of fact,
and only the tenant's own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notify.models import Device, Notification, Recipient
from notify.models.notifications import Priority
from notify.models.preferences import Category, Preference
from notify.services.accepting.facts import Facts
from notify.services.recipients.suppressions import suppression_add


def _people(count: int, tenant: str = "default") -> list[Recipient]:
    return [
        Recipient.objects.create(
            tenant=tenant, external_id=f"f{i}", email=f"f{i}@example.com", phone=f"+1415555090{i}"
        )
        for i in range(count)
    ]


def _sent(person: Recipient, *, priority: int = Priority.NORMAL, status: str = "sent") -> None:
    notification = Notification.objects.create(recipient=person, content={}, priority=priority)
    notification.deliveries.create(
        channel="email", to=person.email, status=status, next_attempt_at=timezone.now()
    )


def test_every_fact_for_many_people_costs_one_query_per_kind(db: Any) -> None:
    people = _people(5)
    news = Category.objects.create(key="news")
    Preference.objects.create(recipient=people[0], category=news, channel="sms", enabled=False)
    Device.objects.create(recipient=people[1], token="t-1")
    Device.objects.create(recipient=people[1], token="t-off", active=False)
    suppression_add(tenant="default", channel="sms", address=people[2].phone, reason="unsubscribed")
    _sent(people[3])
    _sent(people[3], priority=Priority.CRITICAL)  # never counted towards the cap
    _sent(people[3], status="failed")  # did not reach the person

    with CaptureQueriesContext(connection) as queries:
        facts = Facts(
            tenant="default",
            people=people,
            category_key="news",
            since=timezone.now() - timedelta(hours=1),
            channels=["email", "sms", "push"],
        )

    # category, preferences, recent counts, devices, suppressions
    assert len(queries) == 5
    assert facts.category("news") == news and facts.category("other") is None
    assert facts.preferences(people[0], news) == {"sms": False}
    assert facts.preferences(people[1], news) == {}
    assert [token for _, token in facts.devices(people[1])] == ["t-1"]
    assert facts.devices(people[0]) == []
    assert facts.suppression("sms", people[2].phone) == "unsubscribed"
    assert facts.suppression("email", people[2].email) == ""
    assert facts.recent(people[3], timezone.now()) == 1
    assert facts.recent(people[4], timezone.now()) == 0


def test_facts_are_the_tenants_own(db: Any) -> None:
    [person] = _people(1, tenant="a")
    Category.objects.create(tenant="b", key="news")
    suppression_add(tenant="b", channel="email", address=person.email, reason="bounced")

    facts = Facts(tenant="a", people=[person], category_key="news", since=None, channels=["email"])

    assert facts.category("news") is None
    assert facts.suppression("email", person.email) == ""


def test_only_the_channels_asked_for_are_fetched(db: Any) -> None:
    [person] = _people(1)
    Device.objects.create(recipient=person, token="t")
    suppression_add(tenant="default", channel="sms", address=person.phone, reason="unsubscribed")

    facts = Facts(
        tenant="default", people=[person], category_key="x", since=None, channels=["email"]
    )

    assert facts.devices(person) == []
    assert facts.suppression("sms", person.phone) == ""
    assert facts.recent(person, timezone.now()) == 0
