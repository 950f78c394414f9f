"""Django admin for operators: look up a notification and its delivery timeline, retry or
cancel deliveries, manage templates and API keys. Every write goes through a service."""

from __future__ import annotations

from django.contrib import admin

from notify.admin import (
    apikeys,
    audiences,
    deliveries,
    digests,
    notifications,
    preferences,
    recipients,
    suppressions,
    templates,
)

admin.site.site_header = "Notify operations"
admin.site.site_title = "Notify operations"
admin.site.index_title = "Notifications, deliveries, templates and keys"
# The model list beside every page left the lists too narrow for their columns on a 1,280 px
# screen; the index and the breadcrumbs lead to every page as well.
admin.site.enable_nav_sidebar = False

__all__ = [
    "apikeys",
    "audiences",
    "deliveries",
    "digests",
    "notifications",
    "preferences",
    "recipients",
    "suppressions",
    "templates",
]
