"""Push through the real firebase-admin SDK against the provider sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import override_settings

from channels import DeliveryError, get_channel
from tests.channels.support import message
from tests.harness import Sandbox

TOKEN = "device-token-1"


def _send_failing(sandbox: Sandbox, kind: str, **options: object) -> DeliveryError:
    options.setdefault("times", 1)
    sandbox.fault("fcm", kind, **options)
    with pytest.raises(DeliveryError) as caught:
        get_channel("push").send(message(TOKEN, {"title": "hi"}))
    return caught.value


def test_it_sends_a_push_and_returns_the_fcm_message_name(sandbox: Sandbox) -> None:
    push = message(
        TOKEN,
        {"title": "Password changed", "body": "Was it you?", "data": {"k": "v"}},
        priority="high",
    )

    name = get_channel("push").send(push)

    assert name.startswith("projects/notify-test/messages/")
    [received] = sandbox.messages(provider="fcm", delivery_id=push.delivery_id)
    assert received["accepted"] is True
    assert received["provider_id"] == name
    assert received["to"] == TOKEN
    body = received["body"]
    assert body["token"] == TOKEN
    assert body["notification"] == {"title": "Password changed", "body": "Was it you?"}
    assert body["data"] == {"k": "v", "notify_delivery_id": push.delivery_id}
    # A duplicate caused by a lost reply replaces the first copy on the device.
    assert body["android"]["collapse_key"] == push.notification_id
    assert body["android"]["priority"] == "high"
    assert body["apns"]["headers"]["apns-collapse-id"] == push.notification_id


def test_an_unregistered_token_is_permanent_and_deactivates_the_device(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "fcm_unregistered")

    assert (error.permanent, error.deactivate_device, error.code) == (True, True, "UNREGISTERED")


def test_an_invalid_argument_is_permanent(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "fcm_invalid_argument")

    assert (error.permanent, error.config, error.deactivate_device) == (True, False, False)
    assert error.code == "INVALID_ARGUMENT"


def test_a_sender_id_mismatch_is_permanent_and_deactivates_the_device(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "fcm_sender_id_mismatch")

    assert (error.permanent, error.deactivate_device, error.code) == (
        True,
        True,
        "SENDER_ID_MISMATCH",
    )


def test_a_third_party_auth_error_is_a_config_error(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "fcm_third_party_auth", times=5)

    assert (error.config, error.outcome, error.code) == (True, "config", "THIRD_PARTY_AUTH_ERROR")


def test_a_503_is_transient_and_sent_only_once(sandbox: Sandbox) -> None:
    # times=5: if firebase-admin retried on its own, a later try would hit the rule again
    # and the sandbox would show more than one request.
    error = _send_failing(sandbox, "http_503", times=5)

    assert (error.permanent, error.ambiguous, error.outcome) == (False, False, "transient")
    assert len(sandbox.messages(provider="fcm")) == 1


def test_a_500_is_transient_and_sent_only_once(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "http_500", times=5)

    assert error.outcome == "transient"
    assert len(sandbox.messages(provider="fcm")) == 1


def test_a_429_is_transient_and_carries_retry_after(sandbox: Sandbox) -> None:
    error = _send_failing(sandbox, "http_429", retry_after=7)

    assert (error.outcome, error.retry_after, error.code) == ("transient", 7, "QUOTA_EXCEEDED")
    assert len(sandbox.messages(provider="fcm")) == 1


def test_a_reply_slower_than_the_timeout_is_ambiguous(
    sandbox: Sandbox, fresh_channels: None
) -> None:
    sandbox.fault("fcm", "slow", delay_ms=2000)
    push = message(TOKEN, {"title": "slow"})

    with override_settings(PROVIDER_TIMEOUT=0.5), pytest.raises(DeliveryError) as caught:
        get_channel("push").send(push)

    assert (caught.value.outcome, caught.value.code) == ("ambiguous", "timeout")
    assert len(sandbox.messages(provider="fcm")) == 1  # not replayed by the SDK


def test_unusable_fcm_credentials_are_a_config_error(
    sandbox: Sandbox, fresh_channels: None, tmp_path: Path
) -> None:
    # Not the payload's fault: every push would fail the same way until someone fixes the
    # set-up, which is what `config` (alert a human) is for.
    credentials = tmp_path / "service-account.json"
    credentials.write_text(json.dumps({"type": "authorized_user"}))

    with (
        override_settings(FCM_CREDENTIALS=str(credentials)),
        pytest.raises(DeliveryError) as caught,
    ):
        get_channel("push").send(message(TOKEN, {"title": "hi"}))

    assert caught.value.config is True, (caught.value.code, caught.value.message)
    assert sandbox.messages(provider="fcm") == []
