"""What the benchmark sends: the same content through the API and through the bare SDKs.

A single-channel request creates one delivery; a `mix` request asks for email, SMS and push to
the same recipient, i.e. three deliveries (Notify's multichannel case)."""

from __future__ import annotations

from typing import Any

_TEXT = (
    "Your order 4711 has shipped and will arrive on Thursday. Track it at "
    "https://shop.example/track/4711. Reply STOP to opt out."
)
CONTENT: dict[str, dict[str, Any]] = {
    "email": {
        "subject": "Your order has shipped",
        "text": _TEXT,
        "html": f"<p>{_TEXT}</p>",
    },
    "sms": {"text": _TEXT[:140]},
    "push": {"title": "Order shipped", "body": _TEXT[:120], "data": {"order": "4711"}},
}
CHANNELS_FOR = {
    "email": ["email"],
    "sms": ["sms"],
    "push": ["push"],
    "mix": ["email", "sms", "push"],
}
# Broadcasts: email + SMS per person (see broadcast_body).
BULK_CHANNELS = ("email", "sms")
# Recipients are drawn from a pool, as a steady stream mostly reaches people Notify knows.
RECIPIENT_POOL = 5000


def message_content(channel: str) -> dict[str, Any]:
    return dict(CONTENT[channel])


def deliveries_per_request(kind: str) -> int:
    return len(CHANNELS_FOR[kind])


def request_body(kind: str, n: int, priority: str = "normal", prefix: str = "u") -> dict[str, Any]:
    user = n % RECIPIENT_POOL
    channels = CHANNELS_FOR[kind]
    recipient: dict[str, Any] = {"id": f"{prefix}{user}"}
    if "email" in channels:
        recipient["email"] = f"{prefix}{user}@bench.example"
    if "sms" in channels:
        recipient["phone"] = f"+1415555{100 + user % 9900:04d}"
    if "push" in channels:
        recipient["push_tokens"] = [f"{prefix}-token-{user}"]
    return {
        "recipient": recipient,
        "channels": channels,
        "content": {c: CONTENT[c] for c in channels},
        "priority": priority,
        "category": "bench",
    }


def bulk_phone(i: int) -> str:
    """A distinct valid US number per bulk recipient (the pool above repeats every 9,900)."""
    return f"+1415{2_000_000 + i:07d}"


def broadcast_body(n: int, prefix: str) -> dict[str, Any]:
    """A list broadcast to n new recipients, email + SMS each (two deliveries per person).
    Push is left out: its token would also register a device per person during expansion,
    a cost of its own; the figures stay comparable from run to run without it."""
    recipients = [
        {"id": f"{prefix}-{i}", "email": f"{prefix}-{i}@bench.example", "phone": bulk_phone(i)}
        for i in range(n)
    ]
    return {"recipients": recipients, **broadcast_message()}


def broadcast_message() -> dict[str, Any]:
    """Everything but the audience: the same content as the single creates."""
    return {
        "channels": list(BULK_CHANNELS),
        "content": {c: CONTENT[c] for c in BULK_CHANNELS},
        "category": "bulk",
    }
