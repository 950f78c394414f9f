"""Domain events, for observers that must not sit on the delivery path's code (metrics,
outbound webhooks). Sent after the change is committed; receivers must be fast and must
not raise (failures are logged and swallowed by `send_robust`)."""

from __future__ import annotations

from django.dispatch import Signal

# notification: Notification (deliveries prefetched), replayed: bool
notification_accepted = Signal()

# changes: list[DeliveryChange] — every delivery whose status a worker, a webhook, the
# sweeper or an operator changed, with the attempt that did it when there was one.
deliveries_changed = Signal()
