"""What the digest-gathering tests send through the API and flush: comments on one post, joined
into one digest by the template `comments` (the `comments_template` fixture, conftest.py)."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from notify.models import Digest
from notify.services.accepting.digest_flush import digest_flush, digests_claim
from notify.services.digests.gathering import digests_flush_now

COMMENTS = {
    "email": {
        "subject": "{{ digest.count }} new comments",
        "text": "{% for item in digest.items %}{{ item.data.author }}: {{ item.data.body }}\n"
        "{% endfor %}",
    }
}


def comment(api: APIClient, n: int, *, who: str = "ada", **extra: Any) -> dict[str, Any]:
    body = {
        "recipient": {"id": who, "email": f"{who}@example.com"},
        "template": "comments",
        "data": {"author": f"user{n}", "body": f"comment {n}"},
        "digest": {"key": "post-1", "window": "10m"},
        **extra,
    }
    response = api.post("/api/v1/notifications/", body, format="json")
    assert response.status_code == 202, response.content
    return dict(response.json())


def flush_all() -> list[Any]:
    """What the digest stream does when woken: claim the due digests and flush each."""
    digests_flush_now(digest_ids=list(Digest.objects.values_list("id", flat=True)))
    token, ids = digests_claim(limit=100)
    return [digest_flush(digest_id=digest_id, token=token) for digest_id in ids]
