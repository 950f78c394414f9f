"""Log records never carry contact points or URL credentials in clear: emails, phone numbers,
push tokens, unsubscribe tokens and secret-looking query parameters are masked by a filter on
every handler, whatever logger (ours or an SDK's) wrote them. Gunicorn's access log uses the
same mask (notify/observability/accesslog.py)."""

from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_PHONE = re.compile(r"\+\d{1,3}(\d{2,})(\d{2})\b")
# FCM registration tokens: long runs of token characters with a colon (APA91… style).
_TOKEN = re.compile(r"\b([A-Za-z0-9_-]{4})[A-Za-z0-9_:-]{40,}([A-Za-z0-9_-]{4})\b")
# An unsubscribe link is its own credential (/u/<token>/): whoever has it can opt the
# recipient out, so a log shows enough of it to tell links apart, not to use one.
_UNSUBSCRIBE_PATH = re.compile(r"(/u/)([^/?#\s\"']+)")
# Query parameters named like a credential: ?token=, ?signature=, ?key=, ?api_key=, ...
_SECRET_PARAM = re.compile(
    r"(?<=[?&;])([\w.-]*(?:token|signature|sig|key|secret|password|auth|code))=([^&#\s\"']+)",
    re.IGNORECASE,
)
_SHOWN = 4


def _prefix(secret: str) -> str:
    if secret.endswith("…"):
        return secret  # masked already: a second pass (another handler, a span hook) keeps it
    # Short values are shown not at all: four characters of a six-character code is most of it.
    return (secret[:_SHOWN] if len(secret) >= 3 * _SHOWN else "") + "…"


def mask_url_secrets(text: str) -> str:
    """Unsubscribe tokens in /u/<token>/ paths and credential-like query values, cut to a
    prefix; the rest of the URL stays readable."""
    text = _UNSUBSCRIBE_PATH.sub(lambda m: m.group(1) + _prefix(m.group(2)), text)
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={_prefix(m.group(2))}", text)


def mask(text: str) -> str:
    text = mask_url_secrets(text)
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
