"""Inbound provider webhooks: verified, then handed to services.provider_events."""
