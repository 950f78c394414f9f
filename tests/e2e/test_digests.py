"""A digest end to end: messages joined through the API, flushed by the real worker's
digest stream when the window closes, one email in the sandbox listing every message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.models import ApiKey, Digest, Notification, Template
from notify.services.digests.gathering import digests_flush_now
from tests.conftest import Stack
from tests.harness import Proc, Sandbox, start_worker, wait_for

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


@pytest.fixture
def chunky_worker(
    _stack_session: Stack, transactional_db: Any, process_env: dict[str, str], log_dir: Path
) -> Iterator[Proc]:
    """The suite's worker, flushing two digests a chunk: a flush of many chunks."""
    _stack_session.stop()
    env = {**process_env, "NOTIFY_DIGEST_CHUNK": "2", "NOTIFY_DIGEST_CONCURRENCY": "1"}
    worker = start_worker(env, log_dir, name="chunky")
    yield worker
    worker.stop()


def test_a_flush_of_many_chunks_sends_every_digest_once(
    api: APIClient, api_key: tuple[ApiKey, str], chunky_worker: Proc, sandbox: Sandbox
) -> None:
    Template.objects.create(
        tenant=api_key[0].tenant,
        key="daily",
        content={"email": {"subject": "{{ digest.count }} today", "text": "{{ n }}"}},
    )
    people = [f"day{i}" for i in range(12)]
    for who in people:
        for n in range(2):
            body = {
                "recipient": {"id": who, "email": f"{who}@example.com"},
                "template": "daily",
                "data": {"n": n},
                "digest": {"key": "daily", "window": "1h"},
            }
            response = api.post("/api/v1/notifications/", body, format="json")
            assert response.status_code == 202, response.content
    # All due at once, as at the digest's hour: six chunks, claimed by two pool processes.
    digests_flush_now(digest_ids=list(Digest.objects.values_list("id", flat=True)))

    def everyone() -> list[dict[str, Any]] | None:
        got = sandbox.accepted(provider="smtp")
        return got if len(got) >= len(people) else None

    emails = wait_for(everyone, timeout=60, what="every recipient's digest email")
    assert sorted(m["to"] for m in emails) == sorted(f"{who}@example.com" for who in people)
    assert {m["body"]["subject"] for m in emails} == {"2 today"}
    assert Notification.objects.filter(idempotency_key__startswith="digest:").count() == 12
    assert set(Digest.objects.values_list("status", "count")) == {("sent", 2)}
