"""The admin site as a whole: the header, and every page an operator opens renders."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from notify.models import Device, Recipient
from notify.services.access.apikeys import api_key_create
from notify.services.content.templates import template_save
from tests.admin.helpers import make_attempt, make_delivery, make_notification


def test_the_index_is_notify_operations(admin_client: Client) -> None:
    page = admin_client.get("/admin/").content.decode()

    assert '<div id="site-name"><a href="/admin/">Notify operations</a></div>' in page
    for model in ("notification", "delivery", "recipient", "device", "template", "apikey"):
        assert f"/admin/notify/{model}/" in page


@pytest.mark.parametrize(
    "path",
    [
        "/admin/notify/notification/",
        "/admin/notify/delivery/",
        "/admin/notify/recipient/",
        "/admin/notify/device/",
        "/admin/notify/template/",
        "/admin/notify/template/add/",
        "/admin/notify/apikey/",
        "/admin/notify/apikey/add/",
    ],
)
def test_every_list_and_add_page_renders(admin_client: Client, db: Any, path: str) -> None:
    assert admin_client.get(path).status_code == 200


def test_every_detail_page_renders(admin_client: Client, recipient: Recipient) -> None:
    delivery = make_delivery(make_notification(recipient), "push", "failed")
    make_attempt(delivery, 1, "permanent", error_code="UNREGISTERED")
    device = Device.objects.create(recipient=recipient, token="t" * 40)
    key, _raw = api_key_create(name="k")
    template = template_save(tenant="default", key="k", locale="", content={"sms": {"text": "x"}})

    for path in (
        f"/admin/notify/notification/{delivery.notification_id}/change/",
        f"/admin/notify/delivery/{delivery.pk}/change/",
        f"/admin/notify/recipient/{recipient.pk}/change/",
        f"/admin/notify/device/{device.pk}/change/",
        f"/admin/notify/apikey/{key.pk}/change/",
        f"/admin/notify/template/{template.pk}/change/",
    ):
        assert admin_client.get(path).status_code == 200, path


def test_an_operator_can_find_and_lift_a_suppression(admin_client: Any) -> None:
    from notify.models import Suppression

    Suppression.objects.create(channel="email", address="gone@example.com", reason="bounced")

    page = admin_client.get("/admin/notify/suppression/", {"q": "gone@example.com"})
    assert page.status_code == 200
    assert b"g***@example.com" in page.content
    assert b"gone@example.com" not in page.content.replace(b'value="gone@example.com"', b"")

    ids = list(Suppression.objects.values_list("pk", flat=True))
    admin_client.post(
        "/admin/notify/suppression/", {"action": "lift", "_selected_action": [str(i) for i in ids]}
    )
    assert not Suppression.objects.exists()
