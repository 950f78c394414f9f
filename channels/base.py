"""The contract every channel keeps. A channel class declares what the rest of Notify needs
to know about it (its name, how a recipient is addressed, its content parts and limits, its
providers in failover order, its Celery queue, whether an ambiguous send can be looked up) and
does the sending: `send()` returns the provider's message id or raises `DeliveryError`.
Channels see plain data, never ORM objects, because they run on the send threads of a drain
task, away from its database connection. docs/architecture.md, "Adding a channel"."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
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


@dataclass(frozen=True)
class Part:
    """One text part of a channel's content (e.g. an email's subject) and its limits, checked
    on what a caller sends and on what a template renders."""

    max_length: int
    required: bool = False
    single_line: bool = False


# `addressed_by` of a channel sent to the recipient's active push devices (one delivery per
# device) rather than to one of the recipient's contact fields.
DEVICES = "devices"


class Channel:
    """Subclass, set the class attributes, implement `send()`, and add one `register()` line
    to channels/__init__.py."""

    name: ClassVar[str]
    # The Recipient field holding the address ("email", "phone"), or DEVICES.
    addressed_by: ClassVar[str]
    # Says what is missing when a recipient has no address: "recipient has no <label>".
    address_label: ClassVar[str]
    # Addresses compare case-insensitively (email mailbox names, in practice); the delivery
    # claim's suppression check folds case in SQL when this is set.
    fold_case: ClassVar[bool] = False
    # The content parts, in order; `data_part`: a flat dict of strings named "data" whose
    # values have these limits (push), or None.
    parts: ClassVar[dict[str, Part]]
    data_part: ClassVar[Part | None] = None
    # Every provider this channel can use, whatever the configuration (pauses, API enums).
    all_providers: ClassVar[tuple[str, ...]]
    # The Celery queue of its standard lane ("" means its own name); the urgent lane of every
    # channel shares the "urgent" queue.
    queue: ClassVar[str] = ""
    # Its line on the operator dashboard's charts.
    color: ClassVar[str] = "#57606a"

    @classmethod
    def providers(cls) -> list[str]:
        """The configured providers, in failover order (the first is tried first)."""
        return list(cls.all_providers)

    @classmethod
    def normalize(cls, address: str) -> str:
        """The form an address is compared and suppressed in."""
        return address.strip().lower() if cls.fold_case else address.strip()

    @classmethod
    def content_errors(cls, content: dict[str, Any]) -> list[tuple[str, str]]:
        """(part, message) for rules across parts, beyond each part's own limits."""
        return []

    @classmethod
    def tidy(cls, part: str, text: str) -> str:
        """A rendered part's last touch before it is stored."""
        return text

    @classmethod
    def can_find(cls) -> bool:
        """True if the channel implements `find()`, so an ambiguous send is settled by asking
        the provider rather than by sending again."""
        return cls.find is not Channel.find

    @property
    def provider(self) -> str:
        return self.providers()[0]

    def send(self, message: Message) -> str:
        raise NotImplementedError

    def find(self, *, to: str, content: dict[str, Any], since: datetime) -> list[str]:
        """After an ambiguous send: the provider's ids of messages it holds to `to` with this
        content, created since `since`, oldest first (raise DeliveryError if it cannot be
        asked). Channels that cannot look a message up do not override this: their
        ambiguous sends are sent again (a duplicate push replaces the first on the device)."""
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
