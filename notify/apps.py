from __future__ import annotations

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "notify"
    verbose_name = "Notify"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notify import checks  # noqa: F401  (registers system checks)
        from notify.webhooks import anymail  # noqa: F401  (connects the tracking receiver)
