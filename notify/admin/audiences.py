"""Topics, their subscriptions and broadcasts. A topic may have 100k subscribers and a
broadcast's recipient list as many entries, so neither is ever rendered whole: a topic shows
its count and links to the filtered subscriptions, a broadcast its length and first few.
Writes go through notify.services.audiences.broadcasts."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Func, IntegerField, JSONField, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from notify.admin.base import ReadOnlyAdmin, adopt_saved
from notify.admin.display import EMPTY, pretty_json
from notify.models.audiences import Broadcast, Subscription, Topic
from notify.models.notifications import DeliveryStatus
from notify.services.audiences.broadcasts import (
    broadcast_cancel,
    topic_subscribe,
    topic_unsubscribe,
)
from notify.services.audiences.progress import broadcast_progress

# How many of a broadcast's recipients its page names.
HEAD = 5


@admin.register(Topic)
class TopicAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "tenant", "subscribers", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["key", "name"]
    ordering = ["tenant", "key"]
    fields = ["id", "tenant", "key", "name", "subscribers", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Topic]:
        return super().get_queryset(request).annotate(subscriber_count=Count("subscriptions"))

    @admin.display(description="subscribers", ordering="subscriber_count")
    def subscribers(self, obj: Topic) -> SafeString:
        url = reverse("admin:notify_subscription_changelist")
        count = getattr(obj, "subscriber_count", 0)
        return format_html('<a href="{}?topic__id__exact={}">{}</a>', url, obj.pk, count)


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = ["topic", "recipient"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        topic, recipient = cleaned.get("topic"), cleaned.get("recipient")
        if topic and recipient and topic.tenant != recipient.tenant:
            self.add_error("recipient", f"Not a recipient of tenant {topic.tenant!r}.")
        return cleaned


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Adding subscribes, deleting unsubscribes; there is nothing else to edit."""

    form = SubscriptionForm
    list_display = ["recipient_external_id", "topic", "created_at"]
    list_select_related = ["topic", "recipient"]
    list_filter = ["topic"]
    search_fields = ["=recipient__external_id"]
    search_help_text = "Exact recipient external id."
    raw_id_fields = ["recipient"]
    ordering = ["-pk"]
    show_full_result_count = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        topic_subscribe(topic=obj.topic, recipient=obj.recipient)
        adopt_saved(obj, Subscription.objects.get(topic=obj.topic, recipient=obj.recipient))

    def delete_model(self, request: HttpRequest, obj: Subscription) -> None:
        topic_unsubscribe(topic=obj.topic, recipient=obj.recipient)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for subscription in queryset.select_related("topic", "recipient"):
            self.delete_model(request, subscription)

    @admin.display(description="recipient", ordering="recipient__external_id")
    def recipient_external_id(self, obj: Subscription) -> str:
        return obj.recipient.external_id


@admin.register(Broadcast)
class BroadcastAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "topic", "total", "expanded", "progress", "created_at"]
    list_select_related = ["topic"]
    list_filter = ["status", "tenant"]
    search_fields = ["topic__key"]
    search_help_text = "Topic key; a UUID finds the broadcast with that id."
    ordering = ["-pk"]  # ids are UUIDv7: newest first, from the primary key index
    show_full_result_count = False
    actions = ["cancel"]
    fieldsets = [
        (None, {"fields": ["id", "tenant", "status", "reason", "topic", "api_key", "created_at"]}),
        (
            "Progress",
            {
                "fields": [
                    "total",
                    "expanded",
                    "progress",
                    "render_seconds",
                    "deliveries",
                    "updated_at",
                ]
            },
        ),
        ("Request", {"fields": ["message", "recipients_head"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Broadcast]:
        # The recipient list can be megabytes; only its length and head are ever shown,
        # read by recipients_head with a query of its own.
        return super().get_queryset(request).defer("recipients")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        try:
            wanted = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(pk=wanted), False

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        # The page is read-only for everyone, so cancelling hangs off "change broadcast".
        return request.user.has_perm("notify.change_broadcast")

    @admin.action(description="Cancel broadcast", permissions=["cancel"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Broadcast]) -> None:
        live = list(
            queryset.exclude(status=Broadcast.Status.CANCELLED).select_related(None).only("pk")
        )
        if not live:
            self.message_user(
                request, "The selection is already cancelled; nothing changed.", messages.WARNING
            )
            return
        deliveries = sum(broadcast_cancel(broadcast=broadcast) for broadcast in live)
        self.message_user(
            request,
            f"Cancelled {len(live)} broadcast(s) and {deliveries} pending delivery(ies).",
            messages.SUCCESS,
        )

    @admin.display(description="expanded %")
    def progress(self, obj: Broadcast) -> str:
        # Rounded down: 100% only once every recipient is expanded.
        return f"{obj.expanded * 100 // obj.total}%" if obj.total else EMPTY

    @admin.display(description="deliveries by status")
    def deliveries(self, obj: Broadcast) -> SafeString | str:
        counts = broadcast_progress(broadcast_id=obj.pk)
        if not counts:
            return "No deliveries yet."
        total = sum(counts.values())
        rows = [
            (s, counts[s], counts[s] * 100 // total) for s in DeliveryStatus.values if s in counts
        ]
        return format_html(
            "<table><thead><tr><th>status</th><th>deliveries</th><th>%</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}%</td></tr>", rows),
        )

    @admin.display(description="request")
    def message(self, obj: Broadcast) -> SafeString:
        return pretty_json(obj.request)

    @admin.display(description="recipients")
    def recipients_head(self, obj: Broadcast) -> SafeString | str:
        if obj.topic_id is not None:
            return "The topic's subscribers, read as the broadcast expands."
        length, head = (
            Broadcast.objects.filter(pk=obj.pk)
            .values_list(
                Func("recipients", function="jsonb_array_length", output_field=IntegerField()),
                Func(
                    "recipients",
                    template=f"jsonb_path_query_array(%(expressions)s, '$[0 to {HEAD - 1}]')",
                    output_field=JSONField(),
                ),
            )
            .get()
        )
        ids = format_html_join(", ", "{}", ((person.get("id", "?"),) for person in head))
        more = f" and {length - len(head)} more" if length > len(head) else ""
        return format_html("{} in the list: {}{}", length, ids, more)
