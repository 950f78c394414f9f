"""Admin login lockout (django-axes) and the Content-Security-Policy of the HTML pages
(django-csp). The apps and middleware are listed in base.py."""

from __future__ import annotations

from datetime import timedelta

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from notify.settings.env import env

# --- Admin login lockout ------------------------------------------------------------------
# Wrong passwords for one username from one address before that pair is refused, even with
# the right password, until the cool-off has passed. Per username+address: someone guessing
# cannot lock the real admin out from elsewhere, and another address gets its own count.
AXES_FAILURE_LIMIT = env.int("NOTIFY_ADMIN_LOGIN_FAILURE_LIMIT", default=5)
_COOLOFF_MINUTES = env.int("NOTIFY_ADMIN_LOGIN_COOLOFF_MINUTES", default=15)
if AXES_FAILURE_LIMIT < 1 or _COOLOFF_MINUTES < 1:
    # 0 would mean "never lock" or "locked for good": both are someone's typo, not a policy.
    raise ImproperlyConfigured(
        "NOTIFY_ADMIN_LOGIN_FAILURE_LIMIT and NOTIFY_ADMIN_LOGIN_COOLOFF_MINUTES must be >= 1."
    )
AXES_COOLOFF_TIME = timedelta(minutes=_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# An HTML page in the admin's look, never axes' JSON-with-CORS answer to XHR logins.
AXES_LOCKOUT_CALLABLE = "notify.admin.lockout.lockout_response"
# Reverse proxies in front of gunicorn that append the client to X-Forwarded-For. 0 counts
# the connection's own address: a client cannot choose its address by sending the header
# itself. SECURE_PROXY_SSL=1 already means "one proxy, and only it reaches gunicorn"
# (docs/deployment.md), so it defaults to 1 there; otherwise every login would share the
# proxy's address, and anyone could lock the admin out.
NOTIFY_PROXY_COUNT = env.int(
    "NOTIFY_PROXY_COUNT", default=1 if env.bool("SECURE_PROXY_SSL", default=False) else 0
)
AXES_CLIENT_IP_CALLABLE = "notify.admin.lockout.client_address"
# No start-up banner from every process that loads the settings (workers, beat, commands).
AXES_VERBOSE = False

# --- Content-Security-Policy --------------------------------------------------------------
# Every Django response carries it (admin, dashboard, Swagger UI, unsubscribe page); JSON
# answers ignore it. Scripts only from our own origin, or inline with the request's nonce
# (`{{ request.csp_nonce }}`). Inline styles are allowed: the admin's and Swagger UI's
# markup carries style attributes, and a style cannot run code. No framing (clickjacking),
# no plugins, forms post only to us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        # Swagger UI's icons are data: SVGs.
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
