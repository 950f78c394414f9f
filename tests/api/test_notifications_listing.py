"""GET /api/v1/notifications/ (newest first, in pages, filtered, the caller's tenant only) and
POST /api/v1/notifications/<id>/cancel/."""

from __future__ import annotations

from rest_framework.test import APIClient

from notify.models import Delivery
from notify.services.access.apikeys import api_key_create
from tests.api.notification_calls import EMAIL, GOOD, SMS, URL, accept, keyed


def test_it_lists_newest_first_in_pages_that_follow_next(api: APIClient) -> None:
    created = [
        accept(
            api,
            {
                "recipient": {"id": f"u-page-{i}", "email": f"{i}@example.com"},
                "content": {"email": EMAIL},
            },
        )["id"]
        for i in range(5)
    ]

    seen: list[str] = []
    sizes: list[int] = []
    url: str | None = f"{URL}?page_size=2"
    while url:
        page = api.get(url)
        assert page.status_code == 200
        sizes.append(len(page.json()["results"]))
        seen.extend(n["id"] for n in page.json()["results"])
        url = page.json()["next"]

    assert sizes == [2, 2, 1]
    assert seen == list(reversed(created))


def test_it_filters_the_list_by_status_channel_and_recipient(api: APIClient) -> None:
    email_only = accept(
        api, {"recipient": {"id": "u-a", "email": "a@example.com"}, "content": {"email": EMAIL}}
    )
    sms_only = accept(
        api, {"recipient": {"id": "u-b", "phone": "+14155552671"}, "content": {"sms": SMS}}
    )
    both = accept(
        api,
        {
            "recipient": {"id": "u-c", "email": "c@example.com", "phone": "+14155552672"},
            "content": {"email": EMAIL, "sms": SMS},
        },
    )
    Delivery.objects.filter(notification_id=sms_only["id"]).update(status="sent")

    def ids(query: str) -> set[str]:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200
        return {n["id"] for n in response.json()["results"]}

    assert ids("") == {email_only["id"], sms_only["id"], both["id"]}
    assert ids("status=sent") == {sms_only["id"]}
    assert ids("status=pending") == {email_only["id"], both["id"]}
    assert ids("channel=sms") == {sms_only["id"], both["id"]}
    assert ids("channel=email&status=pending") == {email_only["id"], both["id"]}
    assert ids("recipient=u-c") == {both["id"]}
    assert ids("recipient=nobody") == set()
    # A notification with two matching deliveries is listed once.
    assert len(api.get(f"{URL}?status=pending").json()["results"]) == 2


def test_it_lists_only_the_callers_tenant(api: APIClient) -> None:
    _, raw = api_key_create(name="other", tenant="other")
    theirs = accept(keyed(raw), GOOD)
    mine = accept(api, GOOD)

    assert [n["id"] for n in api.get(URL).json()["results"]] == [mine["id"]]
    assert [n["id"] for n in keyed(raw).get(URL).json()["results"]] == [theirs["id"]]


def test_it_cancels_a_pending_notification(api: APIClient) -> None:
    created = accept(
        api,
        {
            "recipient": {"id": "u-cancel", "email": "a@example.com", "phone": "+14155552671"},
            "content": {"email": EMAIL, "sms": SMS},
        },
    )

    response = api.post(f"{URL}{created['id']}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert {d["status"] for d in response.json()["deliveries"]} == {"cancelled"}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"cancelled"}


def test_cancel_does_not_touch_a_delivery_already_sent(api: APIClient) -> None:
    created = accept(
        api,
        {
            "recipient": {"id": "u-cancel-sent", "email": "a@example.com", "phone": "+14155552671"},
            "content": {"email": EMAIL, "sms": SMS},
        },
    )
    Delivery.objects.filter(notification_id=created["id"], channel="email").update(
        status="sent", provider="smtp", provider_message_id="<m@notify.local>"
    )

    response = api.post(f"{URL}{created['id']}/cancel/")

    assert response.status_code == 200
    statuses = {d["channel"]: d["status"] for d in response.json()["deliveries"]}
    assert statuses == {"email": "sent", "sms": "cancelled"}
    email = Delivery.objects.get(notification_id=created["id"], channel="email")
    assert (email.status, email.provider_message_id) == ("sent", "<m@notify.local>")


def test_a_read_only_key_cannot_cancel(api: APIClient) -> None:
    created = accept(api, GOOD)
    _, raw = api_key_create(name="reader", scopes=["read"])

    response = keyed(raw).post(f"{URL}{created['id']}/cancel/")

    assert response.status_code == 403
    assert Delivery.objects.get().status == "pending"
