"""Provider sandbox: local stand-ins for SMTP, Postmark, Twilio Messages and
FCM HTTP v1.

Run with `python -m notify.sandbox`; see docs/sandbox.md. This package must not
import Django or the rest of `notify`, so it can run next to (or without) the app.
"""
