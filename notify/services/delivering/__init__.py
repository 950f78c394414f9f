"""The send path of deliveries: claiming due deliveries and sending them through channels
(`sending.py`), recording outcomes (`outcomes.py`), provider protection (rate limits, pauses,
circuit breakers), reconciliation of ambiguous SMS and provider delivery reports. It runs on
the outbox engine (`notify/services/outbox/`).
"""
