"""Notify's data model. Postgres is the source of truth and the outbox: a delivery row that is
`pending` and due is work to do, whatever Redis remembers."""

from notify.models.apikeys import ApiKey
from notify.models.audiences import Broadcast, Subscription, Topic
from notify.models.digests import Digest, DigestChoice
from notify.models.notifications import Delivery, DeliveryAttempt, Notification
from notify.models.operations import Pause, Replay
from notify.models.preferences import Category, Preference
from notify.models.recipients import Device, Recipient
from notify.models.suppressions import Suppression
from notify.models.templates import Template, TemplateVersion
from notify.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "Broadcast",
    "Category",
    "Delivery",
    "DeliveryAttempt",
    "Device",
    "Digest",
    "DigestChoice",
    "Notification",
    "Pause",
    "Preference",
    "Recipient",
    "Replay",
    "Subscription",
    "Suppression",
    "Template",
    "TemplateVersion",
    "Topic",
    "WebhookDelivery",
    "WebhookEndpoint",
]
