"""Small helpers shared by the channel tests."""

from __future__ import annotations

import uuid
from typing import Any

from channels import Message


def message(to: str, content: dict[str, Any], **fields: Any) -> Message:
    """A message with fresh ids, so the sandbox's records can be found by delivery id."""
    return Message(
        delivery_id=str(uuid.uuid4()),
        notification_id=str(uuid.uuid4()),
        to=to,
        content=content,
        **fields,
    )
