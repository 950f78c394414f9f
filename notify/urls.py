from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from notify.api import health
from notify.api.audiences import BroadcastViewSet, SubscriptionApi, TopicViewSet
from notify.api.batch import NotificationBatchApi
from notify.api.deliveries import DeliveryViewSet
from notify.api.notifications import NotificationViewSet
from notify.api.preferences import CategoryViewSet, PreferencesApi
from notify.api.providers import PauseApi, PauseStateListApi, ResumeApi
from notify.api.recipient_import import RecipientImportApi
from notify.api.recipients import DeviceDetailApi, DeviceListApi, RecipientDetailApi
from notify.api.root import ApiRoot
from notify.api.templates import TemplateViewSet
from notify.api.webhooks import WebhookViewSet
from notify.landing import landing
from notify.observability.dashboard import dashboard_view
from notify.observability.views import metrics_view
from notify.unsubscribe import unsubscribe
from notify.webhooks.twilio import twilio_inbound, twilio_status


def pause_routes(kind: str, prefix: str) -> list[URLPattern]:
    return [
        path(f"{prefix}/", PauseStateListApi.as_view(kind=kind), name=prefix),
        path(f"{prefix}/<str:name>/pause/", PauseApi.as_view(kind=kind), name=f"{kind}-pause"),
        path(f"{prefix}/<str:name>/resume/", ResumeApi.as_view(kind=kind), name=f"{kind}-resume"),
    ]


router = SimpleRouter()
router.register("notifications", NotificationViewSet, basename="notification")
router.register("templates", TemplateViewSet, basename="template")
router.register("categories", CategoryViewSet, basename="category")
router.register("topics", TopicViewSet, basename="topic")
router.register("broadcasts", BroadcastViewSet, basename="broadcast")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("webhooks", WebhookViewSet, basename="webhook")

api_v1 = [
    path("notifications/batch/", NotificationBatchApi.as_view(), name="notification-batch"),
    *router.urls,
    path("recipient-imports/", RecipientImportApi.as_view(), name="recipient-imports"),
    path("recipients/<str:recipient_id>/", RecipientDetailApi.as_view(), name="recipient"),
    path("recipients/<str:recipient_id>/devices/", DeviceListApi.as_view(), name="devices"),
    path(
        "topics/<slug:key>/subscribers/<str:recipient_id>/",
        SubscriptionApi.as_view(),
        name="subscription",
    ),
    path(
        "recipients/<str:recipient_id>/preferences/",
        PreferencesApi.as_view(),
        name="preferences",
    ),
    path(
        "recipients/<str:recipient_id>/devices/<uuid:device_id>/",
        DeviceDetailApi.as_view(),
        name="device",
    ),
    # Operator controls: pause/resume a provider or a channel.
    *pause_routes("provider", "providers"),
    *pause_routes("channel", "channels"),
]

# An API URL no route matches, or an error no view handled, answers JSON like every other
# API error.
handler400 = "notify.api.errors.bad_request"
handler404 = "notify.api.errors.not_found"
handler500 = "notify.api.errors.server_error"

urlpatterns = [
    path("", landing, name="landing"),
    path("api/v1/", ApiRoot.as_view(), name="api-root"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Split: the init script is fetched from ?script=, not inline, so the CSP needs no nonce.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("metrics", metrics_view, name="metrics"),
    path("webhooks/twilio/status/", twilio_status, name="twilio-status"),
    path("webhooks/twilio/inbound/", twilio_inbound, name="twilio-inbound"),
    path("u/<str:token>/", unsubscribe, name="unsubscribe"),
    # Only the ESPs Notify sends through, each refused until its secrets are set.
    path("anymail/", include("notify.webhooks.esp")),
    # Staff only (admin_view redirects anyone else to the admin login).
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("admin/", admin.site.urls),
]
