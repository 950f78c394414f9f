"""Outbound status webhooks (endpoints and their outbox) and the secrets inbound provider
callbacks need.
"""
