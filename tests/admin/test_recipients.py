"""Recipients and devices: searchable, contact points masked in lists, devices inline."""

from __future__ import annotations

from typing import Any

from django.test import Client

from notify.models import Device, Recipient
from tests.admin.helpers import make_recipient, shown_ids


def test_recipients_are_searchable_with_masked_contact_points(
    admin_client: Client, db: Any
) -> None:
    alice = make_recipient("alice")
    bob = make_recipient("bob", email="bob@example.org", phone="+447911123456", tenant="acme")

    response = admin_client.get("/admin/notify/recipient/", {"q": "alice@example.com"})

    assert shown_ids(response) == {alice.pk}
    assert '<td class="field-masked_email">a***@example.com</td>' in response.content.decode()
    assert '<td class="field-masked_phone">+1415***2671</td>' in response.content.decode()
    assert shown_ids(admin_client.get("/admin/notify/recipient/", {"q": "+447911"})) == {bob.pk}
    assert shown_ids(admin_client.get("/admin/notify/recipient/", {"tenant": "acme"})) == {bob.pk}


def test_the_recipient_page_lists_its_devices(admin_client: Client, recipient: Recipient) -> None:
    Device.objects.create(recipient=recipient, token="tok-active-1234567890", platform="ios")
    Device.objects.create(
        recipient=recipient,
        token="tok-dead-0987654321",
        platform="android",
        active=False,
        deactivated_reason="UNREGISTERED",
    )

    page = admin_client.get(f"/admin/notify/recipient/{recipient.pk}/change/").content.decode()

    assert "tok-active-1234567890" in page and "UNREGISTERED" in page
    assert 'name="_save"' not in page


def test_the_devices_list_filters_by_active_and_platform(
    admin_client: Client, recipient: Recipient
) -> None:
    ios = Device.objects.create(recipient=recipient, token="tok-ios-1234567890", platform="ios")
    dead = Device.objects.create(
        recipient=recipient, token="tok-android-1234567890", platform="android", active=False
    )

    url = "/admin/notify/device/"
    assert shown_ids(admin_client.get(url, {"active__exact": "0"})) == {dead.pk}
    assert shown_ids(admin_client.get(url, {"platform__exact": "ios"})) == {ios.pk}
    listing = admin_client.get(url).content.decode()
    assert "tok-…7890" in listing and "tok-ios-1234567890" not in listing
