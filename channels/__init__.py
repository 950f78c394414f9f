"""The channel registry: the one list of the channels Notify can send on, one `register()`
line per channel. Everything that depends on which channels exist (planning, policy,
preferences, pauses, metrics, the API and its schema enums, content validation and rendering,
the admin, the Celery queues, reconciliation) reads it through the functions below, at the
time it needs the answer, so a channel registered here is known everywhere.

Instances are built on first use and cached per process, so no provider client is created at
import time (and each worker process gets its own connections).
docs/architecture.md, "Adding a channel", describes the contract."""

from __future__ import annotations

import threading
from functools import cache

from channels.base import DEVICES, Channel, DeliveryError, Message, Part
from channels.email import EmailChannel
from channels.push import PushChannel
from channels.sms import SmsChannel

# Name → class, in registration order: the default channel order of a notification.
CHANNELS: dict[str, type[Channel]] = {}
_lock = threading.Lock()


def register(channel: type[Channel]) -> type[Channel]:
    """Make `channel` known to every part of Notify (usable as a class decorator)."""
    with _lock:
        if channel.name in CHANNELS and CHANNELS[channel.name] is not channel:
            raise ValueError(f"channel {channel.name!r} is already registered")
        CHANNELS[channel.name] = channel
    return channel


def unregister(name: str) -> None:
    """Forget a channel registered at run time (tests register a toy channel and take it
    away again)."""
    with _lock:
        CHANNELS.pop(name, None)
    get_channel.cache_clear()


register(EmailChannel)
register(SmsChannel)
register(PushChannel)


def names() -> tuple[str, ...]:
    """Every channel, in registration order."""
    return tuple(CHANNELS)


def choices() -> list[tuple[str, str]]:
    """(value, label) for model and form fields (Delivery.channel)."""
    return [(name, name) for name in CHANNELS]


def channel_class(name: str) -> type[Channel]:
    """The class registered as `name`; KeyError for an unknown channel."""
    return CHANNELS[name]


@cache
def get_channel(name: str) -> Channel:
    """This process's instance of the channel (built on first use)."""
    return CHANNELS[name]()


def providers_for(name: str) -> list[str]:
    """The channel's configured providers, in failover order."""
    return CHANNELS[name].providers()


def all_providers() -> tuple[str, ...]:
    """Every provider any channel can use, whatever the configuration."""
    return tuple(dict.fromkeys(p for c in CHANNELS.values() for p in c.all_providers))


def configured_providers() -> list[str]:
    """The providers the current configuration uses, each once."""
    return list(dict.fromkeys(p for c in CHANNELS.values() for p in c.providers()))


def queue_for(name: str) -> str:
    """The Celery queue of the channel's standard lane."""
    channel = CHANNELS.get(name)
    return (channel.queue if channel is not None else "") or name


def queues() -> list[str]:
    """Every channel's standard-lane queue, each once."""
    return list(dict.fromkeys(queue_for(name) for name in CHANNELS))


def looked_up() -> tuple[str, ...]:
    """Channels whose ambiguous sends are settled by asking the provider (`find()`)."""
    return tuple(name for name, c in CHANNELS.items() if c.can_find())


def content_parts() -> dict[str, tuple[str, ...]]:
    """Each channel's content parts in reading order, "data" included where it has one."""
    return {
        name: (*c.parts, *(("data",) if c.data_part is not None else ()))
        for name, c in CHANNELS.items()
    }


__all__ = [
    "CHANNELS",
    "DEVICES",
    "Channel",
    "DeliveryError",
    "Message",
    "Part",
    "all_providers",
    "channel_class",
    "choices",
    "configured_providers",
    "content_parts",
    "get_channel",
    "looked_up",
    "names",
    "providers_for",
    "queue_for",
    "queues",
    "register",
    "unregister",
]
