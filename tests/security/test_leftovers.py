"""Issue #11's last hostile URLs: a control character anywhere in a path or query string is a
400 on every route (JSON on the API and the provider webhooks, a short plain-text page
elsewhere), never a 500 from Postgres refusing a NUL; other unicode still gets through. And
with tracing on, no exported span holds an unsubscribe token or a URL credential."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils import timezone
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rest_framework.test import APIClient

from notify.models import Category, Delivery, Notification, Recipient

# Percent-encoded, as a browser or client sends them.
CONTROLS = ["%00", "%1B", "%7F", "%C2%85"]


def _plain_400(response: Any) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    assert b"control character" in response.content


@pytest.mark.parametrize("control", CONTROLS)
def test_an_admin_filter_with_a_control_character_is_a_plain_400(
    admin_client: Client, control: str
) -> None:
    Category.objects.create(tenant="default", key="billing", name="Billing")

    _plain_400(admin_client.get(f"/admin/notify/category/?tenant={control}"))
    _plain_400(admin_client.get(f"/admin/notify/category/?q=bill{control}ing"))


def test_an_admin_object_path_with_a_nul_is_a_plain_400(admin_client: Client) -> None:
    _plain_400(admin_client.get("/admin/notify/category/1%00/change/"))


def test_pages_outside_the_admin_refuse_control_characters_too(db: Any) -> None:
    client = Client()

    _plain_400(client.get("/u/abc%00def/"))
    _plain_400(client.post("/u/abc%00def/", {"choice": "digest"}))
    _plain_400(client.get("/?ref=%00"))


def test_legitimate_unicode_in_an_admin_search_still_works(admin_client: Client) -> None:
    Category.objects.create(tenant="default", key="factures", name="Factüre 🎉 — été")

    response = admin_client.get("/admin/notify/category/", {"q": "Factüre 🎉"})

    assert response.status_code == 200
    assert "Factüre 🎉 — été" in response.content.decode()


def test_a_unicode_unsubscribe_token_reaches_the_page(db: Any) -> None:
    response = Client().get("/u/%C3%A9t%C3%A9%E2%80%A8%F0%9F%8E%89/")

    # A forged token: the page says the link is invalid, rather than the guard refusing it.
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_api_query_parameter_with_a_nul_is_named_in_a_json_400(api: APIClient) -> None:
    response = api.get("/api/v1/notifications/?recipient=r%00&status=sent")

    assert response.status_code == 400
    assert response.json() == {
        "error": "validation_error",
        "detail": "Invalid input.",
        "fields": {"recipient": ["Control characters are not allowed."]},
    }


def test_an_api_path_matching_no_route_with_a_control_character_is_a_json_400(
    api: APIClient,
) -> None:
    response = api.get("/api/v1/noti%00fications/")

    assert response.status_code == 400
    assert response.json()["fields"] == {"path": ["Control characters are not allowed."]}


def test_a_webhook_query_with_a_nul_is_a_json_400_that_changes_nothing(
    client: Client, db: Any
) -> None:
    recipient = Recipient.objects.create(tenant="default", external_id="r", phone="+14155552671")
    notification = Notification.objects.create(recipient=recipient, tenant="default", content={})
    delivery = Delivery.objects.create(
        notification=notification,
        channel="sms",
        to="+14155552671",
        status="sent",
        next_attempt_at=timezone.now(),
    )

    response = client.post("/webhooks/twilio/status/?delivery=%00", {"MessageStatus": "delivered"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"delivery": ["Control characters are not allowed."]}
    delivery.refresh_from_db()
    assert delivery.status == "sent"


TOKEN = "tok_" + "S3cr3tUnsubscribeT0ken" * 3


def _string_attributes(exporter: InMemorySpanExporter) -> list[str]:
    return [
        f"{key}={value}"
        for span in exporter.get_finished_spans()
        for key, value in (span.attributes or {}).items()
        if isinstance(value, str)
    ]


def test_a_traced_unsubscribe_request_exports_no_token(
    web_spans: InMemorySpanExporter, db: Any
) -> None:
    response = Client().get(f"/u/{TOKEN}/?signature={TOKEN}&utm=mail")

    assert response.status_code == 404  # a forged token; the span is what matters here
    attributes = _string_attributes(web_spans)
    assert attributes, "the request was not traced"
    assert not [a for a in attributes if "S3cr3t" in a], attributes
    # Enough stays to tell what was asked for.
    assert any("/u/tok_…" in a for a in attributes), attributes
    assert any("utm=mail" in a for a in attributes), attributes


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_traced_outgoing_call_exports_no_url_credential(web_spans: InMemorySpanExporter) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook?token={TOKEN}&id=7"
        assert requests.get(url, timeout=5).status_code == 204
    finally:
        server.shutdown()
        server.server_close()

    attributes = _string_attributes(web_spans)
    assert any("/hook?token=tok_…&id=7" in a for a in attributes), attributes
    assert not [a for a in attributes if "S3cr3t" in a], attributes
