"""Categories: a tenant's own, found in bulk; saved in place; what makes a message critical."""

from __future__ import annotations

import pytest

from notify.models import Category
from notify.models.notifications import Priority
from notify.services.recipients.categories import (
    categories_find,
    category_find,
    category_save,
    is_critical,
)

pytestmark = pytest.mark.django_db


def test_categories_are_found_per_tenant_and_unknown_keys_answer_none() -> None:
    ours = category_save(tenant="t1", key="billing", name="Billing")
    category_save(tenant="t2", key="security", name="Security")

    found = categories_find(tenant="t1", keys=["billing", "security", "billing"])

    assert found == {"billing": ours, "security": None}  # t2's security is not t1's
    assert category_find(tenant="t2", key="billing") is None
    assert category_find(tenant="t1", key="billing") == ours


def test_a_saved_category_is_updated_in_place_and_read_back_as_stored() -> None:
    first = category_save(tenant="t1", key="alerts", critical=False)
    again = category_save(tenant="t1", key="alerts", critical=True, fallback_order=["sms"])

    assert again.pk == first.pk
    read = category_find(tenant="t1", key="alerts")
    assert read is not None
    assert (read.critical, read.fallback_order) == (True, ["sms"])
    assert Category.objects.filter(tenant="t1", key="alerts").count() == 1


def test_a_message_is_critical_by_its_priority_or_its_category() -> None:
    plain = category_save(tenant="t1", key="news", critical=False)
    security = category_save(tenant="t1", key="security", critical=True)

    assert is_critical(category=None, priority=Priority.CRITICAL) is True
    assert is_critical(category=security, priority=Priority.NORMAL) is True
    assert is_critical(category=plain, priority=Priority.HIGH) is False
    assert is_critical(category=None, priority=Priority.NORMAL) is False
