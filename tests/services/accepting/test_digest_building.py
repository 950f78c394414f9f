"""Building many digests' notifications in memory: each over its own items, planned with
facts fetched per tenant and category, nothing written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notify.models import Digest, Notification, Recipient, Template
from notify.services.accepting.digest_building import digests_build

TEMPLATE = {"email": {"subject": "{{ digest.count }} for {{ who }}", "text": "x"}}


def _digest(tenant: str, who: str, template: str = "t") -> Digest:
    person = Recipient.objects.create(tenant=tenant, external_id=who, email=f"{who}@example.com")
    return Digest.objects.create(
        tenant=tenant,
        recipient=person,
        key="k",
        rule="1h",
        template_key=template,
        flush_at=timezone.now(),
    )


def _items(who: str, n: int) -> list[tuple[Any, Any, Any]]:
    now = timezone.now()
    return [(f"id-{who}-{i}", now - timedelta(minutes=n - i), {"who": who}) for i in range(n)]


def test_each_digest_is_rendered_over_its_own_items_and_nothing_is_written(db: Any) -> None:
    for tenant in ("acme", "globex"):
        Template.objects.create(tenant=tenant, key="t", content=TEMPLATE)
    digests = [_digest("acme", "ada"), _digest("globex", "bob"), _digest("acme", "cy", "gone")]
    items = {digests[0].pk: _items("ada", 2), digests[1].pk: _items("bob", 3)}
    items[digests[2].pk] = _items("cy", 1)

    with CaptureQueriesContext(connection) as queries:
        built = digests_build(digests=digests, items=items, now=timezone.now())

    assert not [q for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert Notification.objects.count() == 0
    ada, bob = (built.notifications[d.pk] for d in digests[:2])
    assert (ada.tenant, ada.content["email"]["subject"]) == ("acme", "2 for ada")
    assert (bob.tenant, bob.content["email"]["subject"]) == ("globex", "3 for bob")
    assert ada.idempotency_key == f"digest:{digests[0].pk}"
    assert sorted(d.to for d in built.deliveries) == ["ada@example.com", "bob@example.com"]
    assert built.failed == {digests[2].pk: "not rendered: template: No template with key 'gone'."}


@pytest.mark.parametrize("people", [2, 12])
def test_facts_are_fetched_per_tenant_and_category_not_per_person(db: Any, people: int) -> None:
    Template.objects.create(tenant="acme", key="t", content=TEMPLATE)
    digests = [_digest("acme", f"p{i}") for i in range(people)]
    items = {d.pk: _items(d.recipient.external_id, 1) for d in digests}

    with CaptureQueriesContext(connection) as queries:
        built = digests_build(digests=digests, items=items, now=timezone.now())

    assert len(built.notifications) == people
    assert len(queries) <= 8  # templates once, then one query per kind of fact
