"""The Postmark stand-in, driven through anymail's real Postmark backend."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

import pytest
import requests
from anymail.exceptions import AnymailRecipientsRefused, AnymailRequestsAPIError
from django.core.mail import EmailMultiAlternatives

from .helpers import POSTMARK_TOKEN, Sandbox

TO = "ada@example.com"
TOKEN = {"X-Postmark-Server-Token": POSTMARK_TOKEN}


def email(
    connection: Any,
    to: list[str] | None = None,
    *,
    metadata: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject="Your order shipped",
        body="It is on its way.",
        from_email="Notify <notify@example.com>",
        to=to or [TO],
        headers=headers or {},
        connection=connection,
    )
    message.attach_alternative("<p>It is <b>on its way</b>.</p>", "text/html")
    message.metadata = metadata if metadata is not None else {"delivery_id": "d-1"}  # type: ignore[attr-defined]
    message.tags = ["order"]  # type: ignore[attr-defined]
    return message


def raw_send(
    sandbox: Sandbox, fields: dict[str, str] | None = None, headers: dict[str, str] = TOKEN
) -> requests.Response:
    body = {"From": "notify@example.com", "To": TO, "Subject": "s", "TextBody": "t"}
    return sandbox.api("POST", "/email", json={**body, **(fields or {})}, headers=headers)


def test_a_send_returns_the_recorded_message_id(sandbox: Sandbox, postmark_connection: Any) -> None:
    message = email(postmark_connection)

    assert message.send() == 1

    status = message.anymail_status  # type: ignore[attr-defined]
    assert status.status == {"sent"}
    [record] = sandbox.messages(provider="postmark")
    assert record["provider_id"] == status.message_id
    assert record["to"] == TO
    assert record["delivery_id"] == "d-1"
    assert record["summary"] == "Your order shipped"
    assert record["accepted"] is True
    assert record["status"] == 200
    body = record["body"]
    assert body["TextBody"] == "It is on its way."
    assert body["HtmlBody"] == "<p>It is <b>on its way</b>.</p>"
    assert body["Metadata"] == {"delivery_id": "d-1"}
    assert body["Tag"] == "order"
    assert body["From"] == "Notify <notify@example.com>"


def test_the_delivery_id_falls_back_to_the_notify_header(
    sandbox: Sandbox, postmark_connection: Any
) -> None:
    email(postmark_connection, metadata={}, headers={"X-Notify-Delivery-Id": "d-2"}).send()

    [record] = sandbox.messages(provider="postmark")
    assert record["delivery_id"] == "d-2"
    assert {"Name": "X-Notify-Delivery-Id", "Value": "d-2"} in record["body"]["Headers"]


def test_the_success_body_has_postmarks_shape(sandbox: Sandbox) -> None:
    response = raw_send(sandbox, {"To": "Ada <ada@example.com>, bob@example.com"})

    assert response.status_code == 200
    body = response.json()
    assert body["To"] == "Ada <ada@example.com>, bob@example.com"
    assert (body["ErrorCode"], body["Message"]) == (0, "OK")
    assert uuid.UUID(body["MessageID"]).version == 4
    assert datetime.fromisoformat(body["SubmittedAt"]).utcoffset() is not None
    assert sandbox.messages(provider="postmark")[0]["to"] == "ada@example.com"


def test_a_406_fault_refuses_every_recipient(sandbox: Sandbox, postmark_connection: Any) -> None:
    sandbox.add_fault(provider="postmark", kind="postmark_406")
    message = email(postmark_connection)

    with pytest.raises(AnymailRecipientsRefused) as caught:
        message.send()

    assert caught.value.status_code is None
    assert message.anymail_status.recipients[TO].status == "rejected"  # type: ignore[attr-defined]
    assert sandbox.stats()["postmark"] == {"requests": 1, "accepted": 0}
    assert sandbox.messages(provider="postmark")[0]["status"] == 422


def test_the_magic_domain_is_always_inactive(sandbox: Sandbox, postmark_connection: Any) -> None:
    with pytest.raises(AnymailRecipientsRefused):
        email(postmark_connection, ["gone@inactive.example"]).send()

    # With an active recipient alongside, Postmark sends and names the inactive one.
    message = email(postmark_connection, [TO, "Gone@Inactive.example"])
    message.send()
    recipients = message.anymail_status.recipients  # type: ignore[attr-defined]
    assert recipients[TO].status == "sent"
    assert recipients["Gone@Inactive.example"].status == "rejected"


def test_a_300_fault_marks_the_recipient_invalid(
    sandbox: Sandbox, postmark_connection: Any
) -> None:
    sandbox.add_fault(provider="postmark", kind="postmark_300", match_to=TO)
    message = email(postmark_connection)

    with pytest.raises(AnymailRecipientsRefused):
        message.send()

    assert message.anymail_status.recipients[TO].status == "invalid"  # type: ignore[attr-defined]


def test_a_rule_with_match_to_spares_other_recipients(
    sandbox: Sandbox, postmark_connection: Any
) -> None:
    sandbox.add_fault(provider="postmark", kind="postmark_406", match_to="bob@example.com")

    email(postmark_connection).send()
    with pytest.raises(AnymailRecipientsRefused):
        email(postmark_connection, ["bob@example.com"]).send()


@pytest.mark.parametrize(("kind", "status"), [("http_503", 503), ("postmark_10", 401)])
def test_http_faults_raise_api_errors_with_the_status(
    sandbox: Sandbox, postmark_connection: Any, kind: str, status: int
) -> None:
    sandbox.add_fault(provider="postmark", kind=kind)

    with pytest.raises(AnymailRequestsAPIError) as caught:
        email(postmark_connection).send()

    assert caught.value.status_code == status


def test_a_dropped_connection_is_a_transport_error(
    sandbox: Sandbox, postmark_connection: Any
) -> None:
    sandbox.add_fault(provider="postmark", kind="drop")

    with pytest.raises(AnymailRequestsAPIError) as caught:
        email(postmark_connection).send()

    assert caught.value.status_code is None
    assert isinstance(caught.value, requests.ConnectionError)


def test_a_429_fault_carries_retry_after(sandbox: Sandbox) -> None:
    sandbox.add_fault(provider="postmark", kind="http_429", retry_after=7)

    response = raw_send(sandbox)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["ErrorCode"] == 429


def test_a_missing_token_is_refused(sandbox: Sandbox) -> None:
    response = raw_send(sandbox, headers={})

    assert response.status_code == 401
    assert response.json()["ErrorCode"] == 10
    assert response.json()["Message"].startswith("No Account or Server API tokens were supplied")
    assert sandbox.messages(provider="postmark")[0]["accepted"] is False


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"From": ""}, 300), ({"To": ""}, 300), ({"TextBody": ""}, 300), ({"To": "nobody"}, 300)],
)
def test_invalid_requests_answer_422(sandbox: Sandbox, fields: dict[str, str], code: int) -> None:
    response = raw_send(sandbox, fields)

    assert response.status_code == 422
    assert response.json()["ErrorCode"] == code


def test_a_body_that_is_not_json_answers_402(sandbox: Sandbox) -> None:
    response = sandbox.api("POST", "/email", data=b"{nope", headers=TOKEN)

    assert response.status_code == 422
    assert response.json()["ErrorCode"] == 402
    assert sandbox.messages(provider="postmark")[0]["body"] == {"raw": "{nope"}


def test_latency_delays_the_answer(sandbox: Sandbox, postmark_connection: Any) -> None:
    sandbox.set_latency(200)

    started = time.monotonic()
    email(postmark_connection).send()

    assert time.monotonic() - started >= 0.2
