"""POST/GET /api/v1/notifications/ and cancel, as a caller sees them: status codes, JSON
bodies and the rows that were (or were not) stored."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notify.models import ApiKey, Delivery, Notification, Recipient
from notify.services.access.apikeys import api_key_create, api_key_revoke

URL = "/api/v1/notifications/"

EMAIL = {"subject": "Your password changed", "text": "Hi, it changed."}
SMS = {"text": "Your password changed."}
PUSH = {"title": "Password changed", "body": "Was it you?"}

NOTIFICATION_KEYS = {
    "id",
    "status",
    "created_at",
    "recipient",
    "category",
    "priority",
    "template",
    "template_version",
    "send_at",
    "strategy",
    "digest",
    "deliveries",
}
DELIVERY_KEYS = {
    "id",
    "channel",
    "to",
    "status",
    "attempts",
    "provider",
    "provider_message_id",
    "error_code",
    "last_error",
    "created_at",
    "updated_at",
    "sent_at",
    "delivered_at",
}


def _client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _post(api: APIClient, body: Any, **headers: Any) -> Any:
    return api.post(URL, body, format="json", **headers)


def _accepted(api: APIClient, body: Any, **headers: str) -> dict[str, Any]:
    response = _post(api, body, **headers)
    assert response.status_code == 202, response.content
    return dict(response.json())


def _stored() -> tuple[int, int, int]:
    return Notification.objects.count(), Delivery.objects.count(), Recipient.objects.count()


def _template(api: APIClient, key: str, content: dict[str, Any], locale: str = "") -> None:
    response = api.post(
        "/api/v1/templates/", {"key": key, "locale": locale, "content": content}, format="json"
    )
    assert response.status_code == 201, response.content


# --- accepting ------------------------------------------------------------------------------


def test_it_answers_202_with_exactly_the_contract_shape(api: APIClient) -> None:
    response = _post(
        api,
        {"recipient": {"id": "u-shape", "email": "ada@example.com"}, "content": {"email": EMAIL}},
    )

    assert response.status_code == 202
    body = response.json()
    assert set(body) == NOTIFICATION_KEYS
    assert uuid.UUID(body["id"])
    assert body["status"] == "pending"
    assert datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert body["recipient"] == "u-shape"
    assert body["digest"] is None
    assert len(body["deliveries"]) == 1
    delivery = body["deliveries"][0]
    assert set(delivery) == DELIVERY_KEYS
    assert uuid.UUID(delivery["id"])
    assert delivery["channel"] == "email"
    assert delivery["to"] == "ada@example.com"
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 0
    assert delivery["provider"] == ""
    assert delivery["provider_message_id"] == ""
    assert delivery["last_error"] == ""
    assert datetime.fromisoformat(delivery["updated_at"].replace("Z", "+00:00"))
    # What was accepted is what GET shows, and it is in the database.
    assert api.get(f"{URL}{body['id']}/").json() == body
    assert Delivery.objects.get(id=delivery["id"]).notification_id == uuid.UUID(body["id"])


def test_it_uses_by_default_only_the_channels_the_recipient_can_be_reached_on(
    api: APIClient,
) -> None:
    body = _accepted(
        api,
        {
            "recipient": {"id": "u-email-only", "email": "ada@example.com"},
            "content": {"email": EMAIL, "sms": SMS, "push": PUSH},
        },
    )

    assert [(d["channel"], d["to"], d["status"]) for d in body["deliveries"]] == [
        ("email", "ada@example.com", "pending")
    ]
    assert Delivery.objects.count() == 1


def test_it_fans_out_one_push_delivery_per_device(api: APIClient) -> None:
    body = _accepted(
        api,
        {
            "recipient": {"id": "u-devices", "push_tokens": ["tok-a", "tok-b"]},
            "content": {"push": PUSH},
        },
    )

    assert sorted((d["channel"], d["to"]) for d in body["deliveries"]) == [
        ("push", "tok-a"),
        ("push", "tok-b"),
    ]


def test_it_records_an_explicit_channel_without_a_contact_point_as_skipped(api: APIClient) -> None:
    body = _accepted(
        api,
        {
            "recipient": {"id": "u-no-phone", "email": "ada@example.com"},
            "channels": ["sms"],
            "content": {"sms": SMS},
        },
    )

    assert body["status"] == "skipped"
    [delivery] = body["deliveries"]
    assert delivery["channel"] == "sms"
    assert delivery["status"] == "skipped"
    assert delivery["to"] == ""
    assert "phone" in delivery["last_error"]
    assert Delivery.objects.get(id=delivery["id"]).status == "skipped"


def test_it_merges_contact_points_given_on_later_requests(api: APIClient) -> None:
    _accepted(
        api,
        {"recipient": {"id": "u-merge", "email": "ada@example.com"}, "content": {"email": EMAIL}},
    )
    second = _accepted(
        api,
        {
            "recipient": {"id": "u-merge", "phone": "+14155552671"},
            "content": {"email": EMAIL, "sms": SMS},
        },
    )

    # The second request reaches both: the email came from the first one.
    assert sorted((d["channel"], d["to"]) for d in second["deliveries"]) == [
        ("email", "ada@example.com"),
        ("sms", "+14155552671"),
    ]
    assert Recipient.objects.count() == 1
    shown = api.get("/api/v1/recipients/u-merge/")
    assert shown.status_code == 200
    assert shown.json()["email"] == "ada@example.com"
    assert shown.json()["phone"] == "+14155552671"


def test_it_renders_a_template_with_data_and_autoescapes_only_html(api: APIClient) -> None:
    _template(
        api,
        "welcome",
        {
            "email": {
                "subject": "Hi {{ name }}",
                "text": "Hello {{ name }}",
                "html": "<p>Hello {{ name }}</p>",
            }
        },
    )

    body = _accepted(
        api,
        {
            "recipient": {"id": "u-tpl", "email": "ada@example.com"},
            "template": "welcome",
            "data": {"name": "<script>"},
        },
    )

    assert body["template"] == "welcome"
    assert body["template_version"] == 1
    content = Notification.objects.get(id=body["id"]).content
    assert content["email"]["subject"] == "Hi <script>"
    assert content["email"]["text"] == "Hello <script>"
    assert content["email"]["html"] == "<p>Hello &lt;script&gt;</p>"


def test_it_picks_the_template_of_the_recipients_language(api: APIClient) -> None:
    _template(api, "greet", {"email": {"subject": "Hello", "text": "Hello"}})
    _template(api, "greet", {"email": {"subject": "Bonjour", "text": "Bonjour"}}, locale="fr")

    canadian = _accepted(
        api,
        {
            "recipient": {"id": "u-fr-ca", "email": "a@example.com", "locale": "fr-CA"},
            "template": "greet",
        },
    )
    english = _accepted(
        api,
        {
            "recipient": {"id": "u-en", "email": "b@example.com", "locale": "en-GB"},
            "template": "greet",
        },
    )
    # Without a locale in the request, the one stored for the recipient applies.
    again = _accepted(api, {"recipient": {"id": "u-fr-ca"}, "template": "greet"})

    def subject(body: dict[str, Any]) -> str:
        return str(Notification.objects.get(id=body["id"]).content["email"]["subject"])

    assert subject(canadian) == "Bonjour"
    assert subject(english) == "Hello"
    assert subject(again) == "Bonjour"


def test_it_echoes_priority_category_and_send_at(api: APIClient) -> None:
    send_at = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)

    body = _accepted(
        api,
        {
            "recipient": {"id": "u-echo", "email": "ada@example.com"},
            "content": {"email": EMAIL},
            "priority": "high",
            "category": "security",
            "send_at": send_at.isoformat(),
        },
    )

    assert body["priority"] == "high"
    assert body["category"] == "security"
    assert datetime.fromisoformat(body["send_at"].replace("Z", "+00:00")) == send_at
    delivery = Delivery.objects.get(id=body["deliveries"][0]["id"])
    assert delivery.next_attempt_at == send_at
    assert delivery.priority == 1


# --- bad input: 400, specific field errors, nothing stored ------------------------------------

OK_RECIPIENT = {"id": "u-bad", "email": "ada@example.com"}

BAD_REQUESTS: list[tuple[str, Any, str]] = [
    (
        "phone-too-short",
        {"recipient": {"id": "u-bad", "phone": "+1234"}, "content": {"sms": SMS}},
        "recipient.phone",
    ),
    (
        "phone-without-plus",
        {"recipient": {"id": "u-bad", "phone": "4155552671"}, "content": {"sms": SMS}},
        "recipient.phone",
    ),
    (
        "email",
        {"recipient": {"id": "u-bad", "email": "not-an-email"}, "content": {"email": EMAIL}},
        "recipient.email",
    ),
    (
        "unknown-channel",
        {"recipient": OK_RECIPIENT, "channels": ["fax"], "content": {"email": EMAIL}},
        "channels.0",
    ),
    (
        "duplicate-channels",
        {"recipient": OK_RECIPIENT, "channels": ["email", "email"], "content": {"email": EMAIL}},
        "channels",
    ),
    (
        "missing-recipient-id",
        {"recipient": {"email": "ada@example.com"}, "content": {"email": EMAIL}},
        "recipient.id",
    ),
    ("missing-recipient", {"content": {"email": EMAIL}}, "recipient"),
    ("unknown-template", {"recipient": OK_RECIPIENT, "template": "no-such-template"}, "template"),
    (
        "template-and-content",
        {"recipient": OK_RECIPIENT, "template": "x", "content": {"email": EMAIL}},
        "template",
    ),
    ("neither-template-nor-content", {"recipient": OK_RECIPIENT}, "template"),
    ("empty-body", {}, "recipient"),
    (
        "control-character-in-subject",
        {"recipient": OK_RECIPIENT, "content": {"email": {"subject": "a\u0007b", "text": "x"}}},
        "content.email.subject",
    ),
    (
        "newline-in-subject",
        {
            "recipient": OK_RECIPIENT,
            "content": {"email": {"subject": "a\nBcc: evil@example.com", "text": "x"}},
        },
        "content.email.subject",
    ),
    (
        "push-over-4kb",
        {
            "recipient": {"id": "u-bad", "push_tokens": ["t"]},
            "content": {"push": {"title": "big", "data": {f"k{i}": "x" * 2000 for i in range(3)}}},
        },
        "content.push.data",
    ),
    (
        "channel-without-content",
        {
            "recipient": {"id": "u-bad", "phone": "+14155552671"},
            "channels": ["sms"],
            "content": {"email": EMAIL},
        },
        "channels",
    ),
    (
        "no-contact-point-at-all",
        {"recipient": {"id": "u-bad"}, "content": {"email": EMAIL}},
        "recipient",
    ),
]


@pytest.mark.parametrize(
    ("body", "field"),
    [(b, f) for _, b, f in BAD_REQUESTS],
    ids=[name for name, _, _ in BAD_REQUESTS],
)
def test_it_rejects_bad_input_with_a_field_error_and_stores_nothing(
    api: APIClient, body: Any, field: str
) -> None:
    response = _post(api, body)

    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["error"] == "validation_error"
    assert field in answer["fields"], answer["fields"]
    assert all(isinstance(m, str) and m for m in answer["fields"][field])
    assert _stored() == (0, 0, 0)


def test_it_names_the_missing_template_variable_and_stores_nothing(api: APIClient) -> None:
    _template(api, "needs-name", {"email": {"subject": "Hi", "text": "Hello {{ name }}"}})

    response = _post(api, {"recipient": OK_RECIPIENT, "template": "needs-name", "data": {}})

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert list(fields) == ["data"]
    assert "email.text" in fields["data"][0]
    assert "name" in fields["data"][0]
    assert _stored() == (0, 0, 0)


def test_it_rejects_a_template_whose_rendered_subject_would_span_lines(api: APIClient) -> None:
    # Inline content with a newline in the subject is refused (above); the same subject made
    # from template data must be too, or it is accepted and then fails at every send attempt.
    _template(api, "subject-var", {"email": {"subject": "Hi {{ name }}", "text": "Hello"}})

    response = _post(
        api,
        {
            "recipient": OK_RECIPIENT,
            "template": "subject-var",
            "data": {"name": "Ada\nBcc: evil@example.com"},
        },
    )

    assert response.status_code == 400, response.content
    fields = response.json()["fields"]
    assert any("email.subject" in message for message in fields["data"]), fields
    assert _stored() == (0, 0, 0)


def test_it_rejects_a_body_that_is_not_json(api: APIClient) -> None:
    response = api.post(URL, b"{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"
    assert _stored() == (0, 0, 0)


def test_it_rejects_an_over_long_idempotency_key(api: APIClient) -> None:
    response = _post(
        api,
        {"recipient": OK_RECIPIENT, "content": {"email": EMAIL}},
        HTTP_IDEMPOTENCY_KEY="k" * 300,
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]
    assert _stored() == (0, 0, 0)


# --- authentication and authorisation ---------------------------------------------------------

GOOD = {"recipient": OK_RECIPIENT, "content": {"email": EMAIL}}


def _assert_401(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] in {"not_authenticated", "authentication_failed"}
    assert _stored() == (0, 0, 0)


def test_it_answers_401_without_a_key(db: Any) -> None:
    _assert_401(_post(APIClient(), GOOD))


@pytest.mark.parametrize(
    "header", ["Token abc", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-notify-key"]
)
def test_it_answers_401_for_a_malformed_authorization_header(db: Any, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    _assert_401(_post(client, GOOD))


def test_it_answers_401_for_a_wrong_secret(api_key: tuple[ApiKey, str]) -> None:
    key, _ = api_key

    _assert_401(_post(_client(f"ntf_{key.prefix}_wrong-secret"), GOOD))


def test_it_answers_401_for_a_revoked_key(api: APIClient, api_key: tuple[ApiKey, str]) -> None:
    api_key_revoke(key=api_key[0])

    _assert_401(_post(api, GOOD))


def test_it_answers_401_for_an_expired_key(db: Any) -> None:
    _, raw = api_key_create(name="expired", expires_at=timezone.now() - timedelta(seconds=1))

    _assert_401(_post(_client(raw), GOOD))


def test_it_answers_403_to_a_key_without_the_send_scope(db: Any) -> None:
    _, raw = api_key_create(name="reader", scopes=["read"])
    client = _client(raw)

    response = _post(client, GOOD)

    assert response.status_code == 403
    assert _stored() == (0, 0, 0)
    # Reading is what it may do.
    assert client.get(URL).status_code == 200


def test_it_answers_404_for_an_unknown_or_malformed_id(api: APIClient) -> None:
    assert api.get(f"{URL}{uuid.uuid4()}/").status_code == 404
    assert api.get(f"{URL}not-a-uuid/").status_code == 404
    assert api.get(f"{URL}{'-' * 36}/").status_code == 404
    assert api.post(f"{URL}{uuid.uuid4()}/cancel/").status_code == 404


def test_it_hides_another_tenants_notification(api: APIClient) -> None:
    _, raw = api_key_create(name="other", tenant="other")
    theirs = _accepted(_client(raw), GOOD)

    assert api.get(f"{URL}{theirs['id']}/").status_code == 404
    assert api.post(f"{URL}{theirs['id']}/cancel/").status_code == 404
    assert Delivery.objects.get(id=theirs["deliveries"][0]["id"]).status == "pending"
    assert api.get(URL).json()["results"] == []


# --- idempotency ------------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replays_the_first_answer(api: APIClient) -> None:
    first = _post(api, GOOD, HTTP_IDEMPOTENCY_KEY="order-1-shipped")
    second = _post(api, GOOD, HTTP_IDEMPOTENCY_KEY="order-1-shipped")

    assert first.status_code == second.status_code == 202
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["deliveries"] == first.json()["deliveries"]
    assert _stored() == (1, 1, 1)


def test_the_same_idempotency_key_with_another_body_is_422(api: APIClient) -> None:
    _accepted(api, GOOD, HTTP_IDEMPOTENCY_KEY="order-2-shipped")
    other = {"recipient": OK_RECIPIENT, "content": {"email": {**EMAIL, "text": "different"}}}

    response = _post(api, other, HTTP_IDEMPOTENCY_KEY="order-2-shipped")

    assert response.status_code == 422
    assert response.json()["error"] == "unprocessable"
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_an_idempotency_key_is_scoped_to_the_tenant(api: APIClient) -> None:
    _, raw = api_key_create(name="other", tenant="other")

    mine = _accepted(api, GOOD, HTTP_IDEMPOTENCY_KEY="shared-key")
    theirs = _post(_client(raw), GOOD, HTTP_IDEMPOTENCY_KEY="shared-key")

    assert theirs.status_code == 202
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] != mine["id"]
    assert sorted(Notification.objects.values_list("tenant", flat=True)) == ["default", "other"]
    assert [n["id"] for n in _client(raw).get(URL).json()["results"]] == [theirs.json()["id"]]


def test_an_idempotency_key_is_shared_by_every_key_of_one_tenant(
    api: APIClient, api_key: tuple[ApiKey, str]
) -> None:
    _, raw = api_key_create(name="rotated", tenant=api_key[0].tenant)
    first = _accepted(api, GOOD, HTTP_IDEMPOTENCY_KEY="order-3-shipped")
    # The key the first request went through is rotated out before the caller retries.
    api_key_revoke(key=api_key[0])

    retry = _post(_client(raw), GOOD, HTTP_IDEMPOTENCY_KEY="order-3-shipped")
    other = {"recipient": OK_RECIPIENT, "content": {"email": {**EMAIL, "text": "different"}}}
    clash = _post(_client(raw), other, HTTP_IDEMPOTENCY_KEY="order-3-shipped")

    assert retry.status_code == 202
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first["id"]
    assert clash.status_code == 422
    assert _stored() == (1, 1, 1)


# --- listing ----------------------------------------------------------------------------------


def test_it_lists_newest_first_in_pages_that_follow_next(api: APIClient) -> None:
    created = [
        _accepted(
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
    email_only = _accepted(
        api, {"recipient": {"id": "u-a", "email": "a@example.com"}, "content": {"email": EMAIL}}
    )
    sms_only = _accepted(
        api, {"recipient": {"id": "u-b", "phone": "+14155552671"}, "content": {"sms": SMS}}
    )
    both = _accepted(
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
    theirs = _accepted(_client(raw), GOOD)
    mine = _accepted(api, GOOD)

    assert [n["id"] for n in api.get(URL).json()["results"]] == [mine["id"]]
    assert [n["id"] for n in _client(raw).get(URL).json()["results"]] == [theirs["id"]]


# --- cancelling -------------------------------------------------------------------------------


def test_it_cancels_a_pending_notification(api: APIClient) -> None:
    created = _accepted(
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
    created = _accepted(
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
    created = _accepted(api, GOOD)
    _, raw = api_key_create(name="reader", scopes=["read"])

    response = _client(raw).post(f"{URL}{created['id']}/cancel/")

    assert response.status_code == 403
    assert Delivery.objects.get().status == "pending"


def test_the_202_body_is_what_a_later_get_shows(api: APIClient) -> None:
    """The accept answer is built without re-reading the rows; it must not differ from the
    representation of the stored notification."""
    response = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "same-body", "email": "s@example.com", "phone": "+14155552671"},
            "content": {"email": {"subject": "Hi", "text": "t"}, "sms": {"text": "t"}},
            "send_at": "2099-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 202
    accepted = response.json()
    shown = api.get(f"/api/v1/notifications/{accepted['id']}/").json()
    assert accepted == shown
    assert [d["channel"] for d in accepted["deliveries"]] == ["email", "sms"]
