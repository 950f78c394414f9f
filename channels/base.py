"""The contract every channel keeps: one `send()` that returns the provider's message id or
raises `DeliveryError`. Channels see plain data, never ORM objects, because they run on the
send threads of a drain task, away from its database connection."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests


@dataclass(frozen=True)
class Message:
    delivery_id: str
    notification_id: str
    to: str
    # This channel's rendered part, e.g. {"subject", "text", "html"} for email.
    content: dict[str, Any]
    priority: str = "normal"
    category: str = ""
    # Which provider to use, for channels that have several (email failover).
    provider: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


class DeliveryError(Exception):
    """A provider did not take the message.

    permanent: the same request can never succeed; do not retry.
    config: our credentials or account set-up are wrong; do not retry, alert a human.
    ambiguous: the provider may already have accepted it (read timeout, reply lost).
    retry_after: seconds the provider asked us to wait.
    throttled: the provider refused because of our rate (429): it pauses the provider for
        everyone and does not count against the delivery's attempts.
    deactivate_device: the push token is dead (FCM UNREGISTERED, SENDER_ID_MISMATCH).
    suppress: the address must not be contacted again (STOP, hard bounce).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        config: bool = False,
        ambiguous: bool = False,
        code: str = "",
        retry_after: float | None = None,
        throttled: bool = False,
        deactivate_device: bool = False,
        suppress: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent or config
        self.config = config
        self.ambiguous = ambiguous
        self.code = code
        self.retry_after = retry_after
        self.throttled = throttled
        self.deactivate_device = deactivate_device
        self.suppress = suppress

    @property
    def outcome(self) -> str:
        if self.config:
            return "config"
        if self.permanent:
            return "permanent"
        return "ambiguous" if self.ambiguous else "transient"


class Channel:
    name: ClassVar[str]

    @property
    def provider(self) -> str:
        raise NotImplementedError

    def send(self, message: Message) -> str:
        raise NotImplementedError


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def settle_environment(session: requests.Session, url: str) -> dict[str, str]:
    """Read the proxy and CA-bundle environment once for a provider's URL, instead of on
    every request (requests' `trust_env` scans the environment and .netrc per call, a
    measurable share of a send's CPU). Returns the proxies, for clients that pass them."""
    proxies = requests.utils.get_environ_proxies(url)
    session.proxies.update(proxies)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    return dict(proxies)
