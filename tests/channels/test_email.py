"""Email through Django's SMTP backend against the provider sandbox."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.test import override_settings

from channels import DeliveryError, get_channel
from tests.channels.support import message
from tests.harness import Sandbox

TO = "ada@example.com"


def _send_failing(sandbox: Sandbox, kind: str, **options: object) -> DeliveryError:
    options.setdefault("times", 1)
    sandbox.fault("smtp", kind, **options)
    with pytest.raises(DeliveryError) as caught:
        get_channel("email").send(message(TO, {"subject": "s", "text": "t"}))
    return caught.value


def test_it_sends_an_email_and_returns_its_message_id(sandbox: Sandbox) -> None:
    email = message(TO, {"subject": "Your password changed", "text": "Hi Ada, it changed."})

    message_id = get_channel("email").send(email)

    assert message_id.startswith("<") and message_id.endswith("@notify.local>")
    [received] = sandbox.messages(provider="smtp", delivery_id=email.delivery_id)
    assert received["accepted"] is True
    assert received["to"] == TO
    body = received["body"]
    assert body["rcpt_tos"] == [TO]
    assert body["message_id"] == message_id
    assert body["subject"] == "Your password changed"
    assert body["text"].strip() == "Hi Ada, it changed."
    assert body["html"] is None
    assert body["from"] == settings.DEFAULT_FROM_EMAIL
    headers = {k.lower(): v for k, v in body["headers"].items()}
    assert headers["x-notify-delivery-id"] == email.delivery_id
    assert headers["x-notify-notification-id"] == email.notification_id
    assert get_channel("email").provider == "smtp"


def test_an_email_with_html_carries_both_parts(sandbox: Sandbox) -> None:
    email = message(
        TO, {"subject": "Both", "text": "plain words", "html": "<p>rich <b>words</b></p>"}
    )

    get_channel("email").send(email)

    [received] = sandbox.accepted(provider="smtp", delivery_id=email.delivery_id)
    assert received["body"]["text"].strip() == "plain words"
    assert received["body"]["html"].strip() == "<p>rich <b>words</b></p>"


def test_consecutive_sends_on_one_thread_all_arrive(sandbox: Sandbox) -> None:
    emails = [message(f"n{i}@example.com", {"subject": f"#{i}", "text": "x"}) for i in range(5)]

    ids = [get_channel("email").send(e) for e in emails]

    assert len(set(ids)) == 5
    for email, message_id in zip(emails, ids, strict=True):
        [received] = sandbox.accepted(provider="smtp", delivery_id=email.delivery_id)
        assert received["body"]["message_id"] == message_id


def test_consecutive_sends_on_one_thread_reuse_the_connection(
    sandbox: Sandbox, fresh_channels: None
) -> None:
    for i in range(3):
        get_channel("email").send(message(TO, {"subject": f"#{i}", "text": "x"}))

    sessions = [r["body"]["session_id"] for r in sandbox.accepted(provider="smtp")]
    assert len(sessions) == 3 and len(set(sessions)) == 1


def test_each_send_thread_has_its_own_connection(sandbox: Sandbox, fresh_channels: None) -> None:
    def send(i: int) -> None:
        get_channel("email").send(message(TO, {"subject": f"thread {i}", "text": "x"}))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    send(2)  # this thread's own, third connection

    sessions = [r["body"]["session_id"] for r in sandbox.accepted(provider="smtp")]
    assert len(sessions) == 3 and len(set(sessions)) == 3


def test_a_refused_mailbox_is_permanent_and_suppressed(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "smtp_550")

    assert (error.permanent, error.suppress, error.code) == (True, True, "smtp_550")


def test_a_451_is_transient(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "smtp_451")

    assert (error.permanent, error.suppress, error.ambiguous, error.code) == (
        False,
        False,
        False,
        "smtp_451",
    )
    assert error.outcome == "transient"


def test_a_554_is_permanent(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "smtp_554")

    assert (error.permanent, error.code, error.outcome) == (True, "smtp_554", "permanent")


def test_the_channel_sends_again_after_a_refusal(sandbox: Sandbox) -> None:
    _send_failing(sandbox, "smtp_554")
    email = message(TO, {"subject": "after", "text": "x"})

    get_channel("email").send(email)

    assert len(sandbox.accepted(provider="smtp", delivery_id=email.delivery_id)) == 1


def test_a_connection_lost_after_data_is_ambiguous(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "drop")

    assert (error.ambiguous, error.outcome) == (True, "ambiguous")


def test_a_reply_slower_than_the_timeout_is_ambiguous(
    sandbox: Sandbox, fresh_channels: None
) -> None:
    sandbox.fault("smtp", "slow", delay_ms=2000)

    with override_settings(EMAIL_TIMEOUT=0.5), pytest.raises(DeliveryError) as caught:
        get_channel("email").send(message(TO, {"subject": "slow", "text": "x"}))

    assert caught.value.outcome == "ambiguous"


def test_a_message_the_mail_library_refuses_is_a_permanent_delivery_error(sandbox: Sandbox) -> None:
    # A subject with a line break (e.g. rendered from template data) can never be sent; the
    # channel contract is to raise DeliveryError, not whatever Django raised.
    with pytest.raises(DeliveryError) as caught:
        get_channel("email").send(
            message(TO, {"subject": "Hi Ada\nBcc: x@example.com", "text": "x"})
        )

    assert caught.value.permanent is True
    assert sandbox.messages(provider="smtp") == []
