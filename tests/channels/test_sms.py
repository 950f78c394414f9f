"""SMS through the real twilio SDK against the provider sandbox: what Twilio receives, and
how each answer is classified."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from channels import DeliveryError, get_channel
from tests.channels.support import message
from tests.harness import Sandbox, free_port

TO = "+14155552671"


def _send_failing(sandbox: Sandbox, kind: str, **options: object) -> DeliveryError:
    options.setdefault("times", 1)
    sandbox.fault("twilio", kind, **options)
    sms = message(TO, {"text": "hello"})
    with pytest.raises(DeliveryError) as caught:
        get_channel("sms").send(sms)
    return caught.value


def test_it_sends_an_sms_and_returns_twilios_sid(sandbox: Sandbox) -> None:
    sms = message(TO, {"text": "Your code is 123456"})

    sid = get_channel("sms").send(sms)

    assert sid.startswith("SM") and len(sid) == 34
    [received] = sandbox.messages(provider="twilio", delivery_id=sms.delivery_id)
    assert received["accepted"] is True
    assert received["provider_id"] == sid
    assert received["to"] == TO
    assert received["body"]["Body"] == "Your code is 123456"
    assert received["body"]["From"] == settings.TWILIO_FROM
    # Our delivery id rides in the status callback, so a lost reply can still be settled.
    assert sms.delivery_id in received["body"]["StatusCallback"]
    assert get_channel("sms").provider == "twilio"


def test_an_invalid_number_is_permanent(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "twilio_21211")

    assert (error.permanent, error.config, error.suppress, error.code) == (
        True,
        False,
        False,
        "21211",
    )
    assert error.outcome == "permanent"


def test_an_unsubscribed_recipient_is_permanent_and_suppressed(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "twilio_21610")

    assert (error.permanent, error.suppress, error.code) == (True, True, "21610")


def test_a_number_that_cannot_take_sms_is_permanent(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "twilio_21614")

    assert (error.permanent, error.suppress, error.code) == (True, False, "21614")


def test_bad_credentials_are_a_config_error(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "twilio_20003")

    assert (error.config, error.code, error.outcome) == (True, "20003", "config")


def test_a_429_is_transient_and_carries_retry_after(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "http_429", retry_after=7)

    assert (error.permanent, error.ambiguous, error.retry_after) == (False, False, 7)
    assert error.outcome == "transient"


def test_a_503_is_transient(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "http_503")

    assert (error.permanent, error.config, error.ambiguous) == (False, False, False)
    assert error.outcome == "transient"
    # One hit: the SDK did not retry on its own.
    assert len(sandbox.messages(provider="twilio")) == 1


def test_an_unreachable_twilio_is_a_transient_connect_error(
    sandbox: Sandbox, fresh_channels: None
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with override_settings(TWILIO_BASE_URL=closed), pytest.raises(DeliveryError) as caught:
        get_channel("sms").send(message(TO, {"text": "hello"}))

    assert (caught.value.code, caught.value.outcome) == ("connect_error", "transient")
    assert sandbox.messages(provider="twilio") == []


def test_a_reply_slower_than_the_timeout_is_ambiguous(
    sandbox: Sandbox, fresh_channels: None
) -> None:
    sandbox.fault("twilio", "slow", delay_ms=2000)
    sms = message(TO, {"text": "slow"})

    with override_settings(PROVIDER_TIMEOUT=0.5), pytest.raises(DeliveryError) as caught:
        get_channel("sms").send(sms)

    assert (caught.value.outcome, caught.value.code) == ("ambiguous", "timeout")
    assert caught.value.ambiguous is True
    # Why it is ambiguous: Twilio did take the message.
    assert len(sandbox.accepted(provider="twilio", delivery_id=sms.delivery_id)) == 1


def test_a_connection_dropped_after_the_request_was_sent_is_ambiguous(sandbox: Sandbox) -> None:
    # The request reached Twilio, which may have queued the SMS before the connection died;
    # treating this like a refused connect ("never reached Twilio") resends a paid SMS.
    error = _send_failing(sandbox, "drop")

    assert len(sandbox.messages(provider="twilio")) == 1  # the request did arrive
    assert error.ambiguous is True, (error.code, error.message)
