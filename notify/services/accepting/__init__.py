"""Accepting notifications: from a validated request (single, batch) to the notification, its
recipient and its deliveries committed in one transaction.
"""
