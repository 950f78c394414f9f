"""The admin's operations dashboard: staff only, linked from the admin index, and drawn from
the rows the test creates."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from notify.models import Delivery
from notify.observability import state
from tests.admin.helpers import make_attempt, make_delivery, make_notification, make_recipient

TITLES = (
    "Deliveries by status, last 24 h",
    "Deliveries by channel, last 24 h",
    "Error rate per provider, last hour",
    "Queue depth",
    "Oldest due pending delivery",
)


@pytest.fixture
def staff(db: Any) -> Client:
    user = User.objects.create_user("ops", password="pw", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _no_cache(settings: Any) -> None:
    settings.DASHBOARD_CACHE_SECONDS = 0
    state.snapshot_clear()


def test_anonymous_and_non_staff_users_are_sent_to_the_login(db: Any) -> None:
    response = Client().get("/admin/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/dashboard/"

    user = User.objects.create_user("customer", password="pw", is_staff=False)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/dashboard/").status_code == 302


def test_the_admin_index_links_to_the_dashboard(staff: Client) -> None:
    page = staff.get("/admin/").content.decode()
    assert 'href="/admin/dashboard/"' in page
    assert "Operations dashboard" in page
    assert "Recent actions" in page  # still the default index around it


def test_the_dashboard_draws_every_chart_with_its_title(staff: Client) -> None:
    recipient = make_recipient()
    notification = make_notification(recipient)
    sent = [make_delivery(notification, "sms", "sent") for _ in range(3)]
    failed = make_delivery(notification, "email", "failed", error_code="smtp_550")
    waiting = make_delivery(notification, "push", "pending")
    Delivery.objects.filter(pk=waiting.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=20)
    )
    for delivery in sent:
        make_attempt(delivery, 1, "sent")
    make_attempt(failed, 1, "transient", error_code="connect_error")
    make_attempt(failed, 2, "permanent", error_code="smtp_550")

    response = staff.get("/admin/dashboard/")

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == len(TITLES)
    for title in TITLES:
        assert "<title id=" in page and f">{title}</title>" in page
    # Lines per status present in the window, with totals in the legend.
    assert re.search(r"<polyline [^>]*><title>sent</title>", page)
    assert re.search(r"<polyline [^>]*><title>failed</title>", page)
    assert "sent (3)" in page
    # smtp: 2 calls, both errors; twilio: 3 calls, none.
    assert "100% of 2" in page
    assert "0% of 3" in page
    # The push delivery has been due for 20 minutes.
    assert re.search(r">push</text>.*?>2\d\.\d min</text>", page, re.S)
    assert "circuit closed" in page
    # No script, no external resource.
    assert "<script" not in page.split('id="content-main"')[1]
    assert "http://" not in page.split('id="content-main"')[1].replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_the_dashboard_shows_an_empty_day_plainly(staff: Client) -> None:
    page = staff.get("/admin/dashboard/").content.decode()
    assert "Nothing in this period" in page
    assert "No provider calls in the last hour" in page
