from __future__ import annotations

from typing import Any

import pytest

from .helpers import ACCOUNT_SID, AUTH_TOKEN, FCM_PROJECT, Sandbox

SMS_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


def sms(sandbox: Sandbox, to: str, delivery: str = "d") -> int:
    form = {
        "To": to,
        "From": "+15017122661",
        "Body": "hi",
        "StatusCallback": f"http://x/?delivery={delivery}",
    }
    return sandbox.api("POST", SMS_PATH, data=form, auth=(ACCOUNT_SID, AUTH_TOKEN)).status_code


def push(sandbox: Sandbox, token: str) -> int:
    path = f"/v1/projects/{FCM_PROJECT}/messages:send"
    body = {"message": {"token": token}}
    return sandbox.api("POST", path, json=body, headers={"Authorization": "Bearer x"}).status_code


def test_health_reports_both_ports(sandbox: Sandbox) -> None:
    assert sandbox.api("GET", "/_sandbox/health").json() == {
        "ok": True,
        "http_port": sandbox.http_port,
        "smtp_port": sandbox.smtp_port,
    }


def test_messages_filter_newest_first_and_count_all_matches(sandbox: Sandbox) -> None:
    for index in range(3):
        sms(sandbox, "+15550000001", delivery=f"d{index}")
    sms(sandbox, "+15550000002")
    push(sandbox, "tok")

    response = sandbox.api("GET", "/_sandbox/messages", params={"to": "+15550000001", "limit": 2})

    assert response.json()["count"] == 3
    assert [m["delivery_id"] for m in response.json()["messages"]] == ["d2", "d1"]
    assert len(sandbox.messages(provider="fcm")) == 1
    assert [m["to"] for m in sandbox.messages(delivery_id="d0")] == ["+15550000001"]


def test_postmark_records_can_be_listed_by_provider(sandbox: Sandbox) -> None:
    body = {"From": "n@example.com", "To": "a@example.com", "Subject": "s", "TextBody": "t"}
    headers = {"X-Postmark-Server-Token": "t"}
    assert sandbox.api("POST", "/email", json=body, headers=headers).status_code == 200
    sms(sandbox, "+15550000001")

    assert [m["provider"] for m in sandbox.messages(provider="postmark")] == ["postmark"]
    assert sandbox.stats()["postmark"] == {"requests": 1, "accepted": 1}


def test_one_message_is_served_as_json(sandbox: Sandbox) -> None:
    sms(sandbox, "+15550000001")
    [record] = sandbox.messages()

    assert sandbox.api("GET", f"/_sandbox/messages/{record['id']}").json() == record
    assert sandbox.api("GET", "/_sandbox/messages/999999").status_code == 404


def test_clearing_messages_resets_counters_but_keeps_faults(sandbox: Sandbox) -> None:
    sms(sandbox, "+15550000001")
    sandbox.add_fault(provider="fcm", kind="http_500")

    sandbox.api("DELETE", "/_sandbox/messages").raise_for_status()

    assert sandbox.messages() == []
    assert sandbox.stats()["twilio"] == {"requests": 0, "accepted": 0}
    assert len(sandbox.api("GET", "/_sandbox/faults").json()["faults"]) == 1


def test_stats_count_every_hit_per_provider(sandbox: Sandbox) -> None:
    sms(sandbox, "+15550000001")
    sms(sandbox, "+15005550001")
    push(sandbox, "tok")

    assert sandbox.stats() == {
        "smtp": {"requests": 0, "accepted": 0},
        "postmark": {"requests": 0, "accepted": 0},
        "twilio": {"requests": 2, "accepted": 1},
        "fcm": {"requests": 1, "accepted": 1},
    }


def test_rules_are_used_in_creation_order_and_expire(sandbox: Sandbox) -> None:
    sandbox.add_fault(provider="twilio", kind="http_500", times=1)
    sandbox.add_fault(provider="twilio", kind="http_429", times=2)

    statuses = [sms(sandbox, "+15550000001") for _ in range(4)]

    assert statuses == [500, 429, 429, 201]
    assert sandbox.api("GET", "/_sandbox/faults").json() == {"faults": []}


def test_a_rule_without_times_lasts_until_cleared(sandbox: Sandbox) -> None:
    rule = sandbox.add_fault(provider="fcm", kind="fcm_unregistered", times=None)

    assert [push(sandbox, "tok") for _ in range(3)] == [404, 404, 404]
    [listed] = sandbox.api("GET", "/_sandbox/faults").json()["faults"]
    assert listed == rule
    assert sandbox.api("DELETE", "/_sandbox/faults").json() == {"cleared": 1}
    assert push(sandbox, "tok") == 200


def test_one_rule_can_be_deleted_by_id(sandbox: Sandbox) -> None:
    rule = sandbox.add_fault(provider="fcm", kind="http_500")

    assert sandbox.api("DELETE", f"/_sandbox/faults/{rule['id']}").status_code == 200
    assert sandbox.api("DELETE", f"/_sandbox/faults/{rule['id']}").status_code == 404


@pytest.mark.parametrize(
    "rule",
    [
        {"provider": "sms", "kind": "http_500"},
        {"provider": "smtp", "kind": "http_429"},
        {"provider": "twilio", "kind": "fcm_unregistered"},
        {"provider": "postmark", "kind": "smtp_550"},
        {"provider": "twilio", "kind": "postmark_406"},
        {"provider": "twilio", "kind": "slow"},
        {"provider": "twilio", "kind": "http_500", "times": 0},
        {"provider": "twilio", "kind": "http_500", "retry_after": "soon"},
        {"provider": "twilio", "kind": "http_500", "match_to": 5},
    ],
)
def test_invalid_rules_are_refused(sandbox: Sandbox, rule: dict[str, Any]) -> None:
    response = sandbox.api("POST", "/_sandbox/faults", json=rule)

    assert response.status_code == 400
    assert "error" in response.json()


def test_latency_is_configurable(sandbox: Sandbox) -> None:
    assert sandbox.api("GET", "/_sandbox/config").json() == {"latency_ms": 0}

    sandbox.set_latency(25)

    assert sandbox.api("GET", "/_sandbox/config").json() == {"latency_ms": 25}
    bad = sandbox.api("POST", "/_sandbox/config", json={"latency_ms": -1})
    assert bad.status_code == 400


def test_reset_clears_messages_faults_and_latency(sandbox: Sandbox) -> None:
    sms(sandbox, "+15550000001")
    sandbox.add_fault(provider="twilio", kind="http_500")
    sandbox.set_latency(10)

    sandbox.reset()

    assert sandbox.messages() == []
    assert sandbox.api("GET", "/_sandbox/faults").json() == {"faults": []}
    assert sandbox.api("GET", "/_sandbox/config").json() == {"latency_ms": 0}
