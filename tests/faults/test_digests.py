"""Digests while workers die: pool processes killed -9 again and again while due digests
are being flushed. Every digest is sent once, with everything that joined it."""

from __future__ import annotations

from typing import Any

import pytest

from notify.models import Digest, Notification, Template
from notify.services.digests.gathering import digests_flush_now
from tests.faults.conftest import Client
from tests.faults.stack import FaultStack
from tests.harness import Sandbox, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

PEOPLE = 40
EACH = 3


def _body(who: str, n: int) -> dict[str, Any]:
    return {
        "recipient": {"id": who, "email": f"{who}@example.com"},
        "template": "joined",
        "data": {"n": n},
        "digest": {"key": "burst", "window": "1h"},
    }


def test_worker_children_killed_while_digests_flush(
    fault_stack: FaultStack, client: Client, sandbox: Sandbox
) -> None:
    Template.objects.create(
        tenant="default",
        key="joined",
        content={
            "email": {
                "subject": "{{ digest.count }} new",
                "text": "{% for item in digest.items %}{{ item.data.n }} {% endfor %}",
            }
        },
    )
    people = [f"dg-{i}" for i in range(PEOPLE)]
    for n in range(EACH):
        for who in people:
            response = client.post(_body(who, n))
            assert response.status_code == 202, response.text

    # All due at once, as at a daily digest's hour: many flushes for the kills to land in.
    digests_flush_now(digest_ids=list(Digest.objects.values_list("id", flat=True)))
    kills = 0
    for _ in range(3):  # a kill whenever flush claims are out
        wait_for(
            lambda: (
                Digest.objects.filter(status="open", lease_token__isnull=False).exists()
                or not Digest.objects.filter(status="open").exists()
            ),
            timeout=30,
            what="a flush in progress",
        )
        kills += fault_stack.kill_worker_children() > 0

    wait_for(
        lambda: not Digest.objects.filter(status="open").exists(),
        timeout=90,
        what="every digest to be flushed",
    )
    assert set(Digest.objects.values_list("status", "count")) == {("sent", EACH)}
    assert Digest.objects.count() == PEOPLE
    carriers = Notification.objects.filter(idempotency_key__startswith="digest:")
    assert carriers.count() == PEOPLE
    assert {n.content["email"]["subject"] for n in carriers} == {f"{EACH} new"}
    assert kills >= 1

    def reached() -> set[str] | None:
        got = {m["to"] for m in sandbox.accepted(provider="smtp")}
        return got if len(got) == PEOPLE else None

    got = wait_for(reached, timeout=90, what="every recipient's digest email")
    assert got == {f"{who}@example.com" for who in people}
    # Every email is a whole digest: never a message alone.
    assert {m["body"]["subject"] for m in sandbox.accepted(provider="smtp")} == {f"{EACH} new"}
