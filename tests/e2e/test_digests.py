"""A digest end to end: messages joined through the API, flushed by the real worker's
digest stream when the window closes, one email in the sandbox listing every message."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.models import ApiKey, Template
from tests.conftest import Stack
from tests.harness import Sandbox, wait_for

pytestmark = pytest.mark.e2e


def test_the_recipient_gets_one_email_listing_every_message(
    api: APIClient, api_key: tuple[ApiKey, str], stack: Stack, sandbox: Sandbox
) -> None:
    Template.objects.create(
        tenant=api_key[0].tenant,
        key="comments",
        content={
            "email": {
                "subject": "{{ digest.count }} new comments",
                "text": "{% for item in digest.items %}{{ item.data.author }}: "
                "{{ item.data.body }}\n{% endfor %}",
            }
        },
    )
    ids = []
    for n in range(3):
        body: dict[str, Any] = {
            "recipient": {"id": "grace", "email": "grace@example.com"},
            "template": "comments",
            "data": {"author": f"user{n}", "body": f"comment {n}"},
            "digest": {"key": "post-7", "window": "2s"},
        }
        response = api.post("/api/v1/notifications/", body, format="json")
        assert response.status_code == 202, response.content
        ids.append(response.json()["id"])

    (email,) = wait_for(
        lambda: sandbox.accepted(to="grace@example.com") or None,
        timeout=30,
        what="the digest email",
    )
    assert email["body"]["subject"] == "3 new comments"
    assert email["body"]["text"].splitlines() == [
        "user0: comment 0",
        "user1: comment 1",
        "user2: comment 2",
    ]

    def settled() -> dict[str, Any] | None:
        body = api.get(f"/api/v1/notifications/{ids[0]}/").json()
        return body if body["digest"]["status"] == "sent" else None

    joined = wait_for(settled, timeout=10, what="the joined notification to show the digest")
    assert {(d["status"], d["error_code"]) for d in joined["deliveries"]} == {
        ("skipped", "digested")
    }
    # Still one email once everything has settled: nothing joined went out alone.
    assert len(sandbox.messages(to="grace@example.com")) == 1
