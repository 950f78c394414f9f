"""Delivery channels: a plain registry of one small class per channel.

Instances are built on first use and cached per process, so no provider client is created at
import time (and each worker process gets its own connections).
"""

from __future__ import annotations

from functools import cache

from channels.base import Channel, DeliveryError, Message
from channels.email import EmailChannel
from channels.push import PushChannel
from channels.sms import SmsChannel

CHANNELS: dict[str, type[Channel]] = {
    "email": EmailChannel,
    "sms": SmsChannel,
    "push": PushChannel,
}


@cache
def get_channel(name: str) -> Channel:
    return CHANNELS[name]()


__all__ = ["CHANNELS", "Channel", "DeliveryError", "Message", "get_channel"]
