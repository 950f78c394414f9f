"""ESP tracking events (Postmark, Mailgun) through anymail's webhook views, reached only
through notify.webhooks.esp, which checks the basic-auth WEBHOOK_SECRET first (anymail then
checks Mailgun's signature)."""

from __future__ import annotations

from typing import Any

from anymail.signals import AnymailTrackingEvent, tracking
from django.dispatch import receiver

from channels.email import EmailChannel
from notify.services.delivering.reports import delivery_apply_report

# anymail event_type → (our status or None, suppression reason or "")
_EVENTS: dict[str, tuple[str | None, str]] = {
    "queued": ("sent", ""),
    "sent": ("sent", ""),
    "delivered": ("delivered", ""),
    "opened": ("delivered", ""),
    "clicked": ("delivered", ""),
    "bounced": ("failed", "bounced"),
    "rejected": ("failed", "bounced"),
    "complained": (None, "complained"),
    "unsubscribed": (None, "unsubscribed"),
}


@receiver(tracking, dispatch_uid="notify-tracking")
def on_tracking(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    status, suppress = _EVENTS.get(event.event_type, (None, ""))
    if status is None and not suppress:
        return
    # A signed event is still the sender's JSON: anymail passes user-variables and the
    # recipient through as they came, whatever their type.
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    delivery_apply_report(
        # A complaint or unsubscribe implies the mail arrived; it stops future mail.
        status=status or "delivered",
        channel=EmailChannel.name,
        delivery_id=metadata.get("delivery_id"),
        provider_message_id=event.message_id or "",
        address=event.recipient if isinstance(event.recipient, str) else "",
        error_code=event.reject_reason or event.event_type,
        detail=f"{esp_name} reported {event.event_type} {event.reject_reason or ''}".strip(),
        suppress_reason=suppress,
    )
