"""Observability: Prometheus metrics (/metrics), structured JSON logs, OpenTelemetry traces and
the admin dashboard. Everything here watches the delivery path from the outside, through the
domain events in notify.signals and read-only queries; docs/operations.md is the guide."""
