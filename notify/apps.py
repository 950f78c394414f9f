from __future__ import annotations

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "notify"
    verbose_name = "Notify"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notify import checks  # noqa: F401  (registers system checks)
        from notify.observability import receivers, tracing
        from notify.webhooks import anymail  # noqa: F401  (connects the tracking receiver)

        receivers.connect()  # metrics and event log lines from the domain events
        tracing.web_tracing_setup()  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set
        self._connect_operations()

    def _connect_operations(self) -> None:
        from notify.admin import pauses, webhooks  # noqa: F401  (registers operator pages)
        from notify.services.webhooks.endpoints import on_deliveries_changed
        from notify.signals import deliveries_changed

        # Outbound status webhooks: status changes become events in the webhook outbox.
        deliveries_changed.connect(on_deliveries_changed, dispatch_uid="notify.webhooks")
