"""OpenTelemetry traces: off unless OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is
set, then exported over OTLP/HTTP (protobuf) in batches.

One trace follows a notification from the API request (Django) through the Celery message
(the publishing side injects W3C trace context into the message headers, the worker extracts
it) to the provider's HTTP calls (requests, which the Twilio, Firebase and Anymail SDKs use;
the drain's send threads inherit the context through the threading instrumentation).

Web processes configure tracing in NotifyConfig.ready(); Celery worker children in
worker_process_init (after the fork, as the batch exporter's thread would not survive it).
The service name is notify-web or notify-worker unless OTEL_SERVICE_NAME says otherwise; the
exporter reads the other OTEL_* variables itself (headers, timeout, sampling).

URLs in span attributes are masked as in the logs (notify.logs.mask_url_secrets): an
unsubscribe link's /u/<token>/ is its own credential, and a customer's webhook URL may carry
one in its query string. The instrumentations' hooks run after they set their attributes."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.threading import ThreadingInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span

from notify.logs import mask_url_secrets

logger = logging.getLogger(__name__)

# Probes and scrapes would be most of the traces, and say nothing.
EXCLUDED_URLS = "healthz,readyz,metrics,static/"
_configured: dict[str, TracerProvider] = {}


def tracing_enabled() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def celery_process() -> bool:
    """True in `celery ...` and `python -m celery ...` processes (worker, beat, flower)."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return argv0.name == "celery" or argv0.parent.name == "celery"


def tracer_provider(service: str, processor: SpanProcessor | None = None) -> TracerProvider:
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if processor is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter())
    provider.add_span_processor(processor)
    return provider


def _masked(key: str, value: str) -> str:
    # url.query comes without its "?", which the mask needs to find the first parameter.
    if key.endswith(".query"):
        return mask_url_secrets(f"?{value}")[1:]
    return mask_url_secrets(value)


def mask_span_urls(span: Span, *_: Any) -> None:
    """Request and response hook of the Django and requests instrumentations: every string
    attribute (http.target, http.url, url.path, url.full, url.query, ...) through the log
    mask, so no exported span holds a usable unsubscribe link or URL credential."""
    attributes = getattr(span, "attributes", None) or {}
    # Collected first: setting an attribute while iterating them would reorder the mapping.
    changed = {
        key: masked
        for key, value in attributes.items()
        if isinstance(value, str) and (masked := _masked(key, value)) != value
    }
    for key, masked in changed.items():
        span.set_attribute(key, masked)


def instrument(provider: TracerProvider, *, django: bool) -> list[Any]:
    """Install the instrumentations, reporting to `provider`; returns them (to uninstrument
    in tests)."""
    instrumentors: list[Any] = [
        CeleryInstrumentor(),
        RequestsInstrumentor(),
        ThreadingInstrumentor(),
    ]
    if django:
        instrumentors.insert(0, DjangoInstrumentor())
    for instrumentor in instrumentors:
        kwargs: dict[str, Any] = {"tracer_provider": provider}
        if isinstance(instrumentor, DjangoInstrumentor | RequestsInstrumentor):
            kwargs.update(request_hook=mask_span_urls, response_hook=mask_span_urls)
        if isinstance(instrumentor, DjangoInstrumentor):
            kwargs["excluded_urls"] = EXCLUDED_URLS
        if isinstance(instrumentor, ThreadingInstrumentor):
            kwargs = {}
        instrumentor.instrument(**kwargs)
    return instrumentors


def tracing_setup(service: str, *, django: bool) -> TracerProvider | None:
    """Configure this process once; a no-op when tracing is off."""
    if not tracing_enabled():
        return None
    if service in _configured:
        return _configured[service]
    provider = tracer_provider(service)
    trace.set_tracer_provider(provider)
    instrument(provider, django=django)
    _configured[service] = provider
    logger.info("tracing: exporting spans of %s over OTLP", service)
    return provider


def web_tracing_setup() -> None:
    """From NotifyConfig.ready(): web processes only (Celery's are set up after the fork)."""
    if not celery_process():
        tracing_setup("notify-web", django=True)


def worker_tracing_setup(**_: Any) -> None:
    """Celery worker_process_init."""
    tracing_setup("notify-worker", django=False)


def tracing_flush(**_: Any) -> None:
    """Celery worker_process_shutdown: export what is still buffered."""
    for provider in _configured.values():
        provider.force_flush(timeout_millis=2000)
