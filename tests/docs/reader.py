"""The reader of the README's examples: the live stack's addresses, their shell, their API
key and webhook receiver, and what the README told them so far (ids, a secret)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from tests.docs.examples import Answer, Block, Shell, answer_shape, mismatches
from tests.docs.receiver import Received, Receiver
from tests.harness import Sandbox, wait_for


@dataclass
class Reader:
    web: str
    sandbox: Sandbox
    shell: Shell
    http: requests.Session
    receiver: Receiver
    env: dict[str, str]
    notification_id: str = ""
    webhook_secret: str = ""
    events: list[Received] = field(default_factory=list)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.web}{path}", timeout=15, **kwargs)

    def notification(self, notification_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/api/v1/notifications/{notification_id}/").json())

    def send(self, body: dict[str, Any]) -> str:
        response = self.api("POST", "/api/v1/notifications/", json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def settled(self, notification_id: str) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]] | None:
            deliveries = self.notification(notification_id)["deliveries"]
            return (
                deliveries if all(d["status"] in {"sent", "failed"} for d in deliveries) else None
            )

        return wait_for(done, timeout=30, interval=0.2, what=f"{notification_id} to settle")


def run(reader: Reader, block: Block) -> list[tuple[str, Answer]]:
    """Each command's documented answer (its `# ...` lines) and its real one."""
    return [(c.answer, a) for c, a in reader.shell.run_block(block) if a is not None]


def as_documented(
    answer: Answer, documented: str, *, status: int, loose: frozenset[str] = frozenset()
) -> Any:
    """The body, once its status and every field the README shows are as shown."""
    assert answer.status == status, answer.body
    body = answer.json()
    if documented.strip():
        assert mismatches(answer_shape(documented), body, loose=loose) == []
    return body
