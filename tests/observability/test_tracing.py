"""One trace from the API request, through the outbox row, to the provider's HTTP call.

The web half runs in this process with an in-memory exporter (the Django test client, with
the same instrumentation the web server installs). The notification row must keep the
request's W3C trace context. Then a real Celery worker, started with
OTEL_EXPORTER_OTLP_ENDPOINT pointing at a stand-in collector in this process, sends it: its
send span and the Twilio SDK's HTTP call (made on a send thread) must join the same trace.
Not covered: SMTP (not HTTP, so no client span) and the sweeper's doorbells (root traces)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from rest_framework.test import APIClient

from notify.models import Notification
from tests.conftest import Stack
from tests.harness import Proc, Sandbox, start_worker, wait_for

pytestmark = pytest.mark.e2e


class CollectorStandIn(ThreadingHTTPServer):
    """Accepts OTLP/HTTP protobuf trace exports and keeps the spans as dicts."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: CollectorStandIn

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.server.spans.append(
                        {
                            "service": resource.get("service.name"),
                            "name": span.name,
                            "kind": span.kind,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_id": span.parent_span_id.hex(),
                            "attributes": {
                                a.key: a.value.string_value or a.value.int_value
                                for a in span.attributes
                            },
                        }
                    )
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[CollectorStandIn]:
    server = CollectorStandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _one(spans: list[ReadableSpan], kind: SpanKind, prefix: str) -> ReadableSpan:
    found = [s for s in spans if s.kind == kind and s.name.startswith(prefix)]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


def test_request_task_and_provider_call_share_one_trace(
    api: APIClient,
    web_spans: InMemorySpanExporter,
    collector: CollectorStandIn,
    _stack_session: Stack,
    sandbox: Sandbox,
    transactional_db: Any,
    redis_db: redis.Redis,
    process_env: dict[str, str],
    log_dir: Path,
) -> None:
    _stack_session.stop()  # nothing may send it before the row is inspected
    for key in ("sms", "notify:bell:sms:standard", *redis_db.scan_iter("notify:breaker:*")):
        redis_db.delete(key)

    response = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "traced-1", "phone": "+14155550142"},
            "channels": ["sms"],
            "content": {"sms": {"text": "traced"}},
        },
        format="json",
    )
    assert response.status_code == 202, response.content

    spans = list(web_spans.get_finished_spans())
    request = _one(spans, SpanKind.SERVER, "POST")
    trace_id = format(request.context.trace_id, "032x")
    assert {s.resource.attributes["service.name"] for s in spans} == {"notify-web"}

    # No message carries the trace (a wake-up names no work): the notification row does.
    stored = Notification.objects.get(id=response.json()["id"]).trace_parent
    _version, traced, parent, flags = stored.split("-")
    assert (traced, parent) == (trace_id, f"{request.context.span_id:016x}")
    assert int(flags, 16) & 1  # sampled

    worker: Proc = start_worker(
        {
            **process_env,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        },
        log_dir,
        name="worker-traced",
    )
    try:
        wait_for(lambda: sandbox.accepted(provider="twilio"), timeout=30, what="the SMS")

        def worker_spans() -> list[dict[str, Any]] | None:
            mine = [s for s in collector.spans if s["trace_id"] == trace_id]
            kinds = {s["kind"] for s in mine}
            # OTLP kinds: 3 client, 5 consumer.
            return mine if {3, 5} <= kinds else None

        mine = wait_for(worker_spans, timeout=20, what="the worker's spans in the trace")
    finally:
        worker.stop()

    assert {s["service"] for s in mine} == {"notify-worker"}
    run = next(s for s in mine if s["kind"] == 5)
    assert run["name"] == "send/sms"
    assert run["parent_id"] == f"{request.context.span_id:016x}"
    calls = [s for s in mine if s["kind"] == 3]
    twilio = [
        c
        for c in calls
        if "Messages.json" in str(c["attributes"].get("url.full", c["attributes"].get("http.url")))
    ]
    assert twilio, calls
    # The call was made on a send thread, and descends from the send span.
    by_id = {s["span_id"]: s for s in mine}
    ancestor = by_id.get(twilio[0]["parent_id"])
    while ancestor is not None and ancestor is not run:
        ancestor = by_id.get(ancestor["parent_id"])
    assert ancestor is run
