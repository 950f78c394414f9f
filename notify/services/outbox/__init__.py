"""The outbox engine every stream of work runs on: a dispatcher that claims due rows with a
lease and a fencing token and keeps a bounded number of sends in flight (`engine.py`), the
doorbell that wakes it after a commit (`doorbell.py`) and the listener that hears it
(`wakes.py`). It knows no stream: deliveries, webhooks and digests plug into it.
"""
