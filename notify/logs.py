"""Log records never carry contact points in clear: emails, phone numbers and push tokens
are masked by a filter on every handler, whatever logger (ours or an SDK's) wrote them."""

from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_PHONE = re.compile(r"\+\d{1,3}(\d{2,})(\d{2})\b")
# FCM registration tokens: long runs of token characters with a colon (APA91… style).
_TOKEN = re.compile(r"\b([A-Za-z0-9_-]{4})[A-Za-z0-9_:-]{40,}([A-Za-z0-9_-]{4})\b")


def mask(text: str) -> str:
    text = _EMAIL.sub(r"\1***@\2", text)
    text = _PHONE.sub(lambda m: m.group(0)[:4] + "***" + m.group(2), text)
    return _TOKEN.sub(r"\1…\2", text)


class MaskPII(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed call; logging itself reports it, not us
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
