"""Carrying a trace through the outbox. A wake-up carries no ids, so no message can carry the
request's trace either: each notification row keeps the W3C traceparent of the span that
created it (the API request, or a broadcast's expansion), and the worker's send span
continues that trace. Empty, and free, when tracing is off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()


def traceparent_current() -> str:
    """The current span as a traceparent header value, or "" (no sampled span)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid or not context.trace_flags.sampled:
        return ""
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


@contextmanager
def span_continuing(traceparent: str, name: str) -> Iterator[None]:
    """A consumer span that continues `traceparent`'s trace (nothing when it is empty)."""
    if not traceparent:
        yield
        return
    parent = _propagator.extract({"traceparent": traceparent})
    tracer = trace.get_tracer("notify.outbox")
    with tracer.start_as_current_span(name, context=parent, kind=trace.SpanKind.CONSUMER):
        yield
