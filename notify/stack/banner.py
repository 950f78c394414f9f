"""What `run` prints once everything answers: where things are and how to try them."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from notify.stack.resolve import mask

# The request body of the curl example: one recipient reached on all three channels. It must
# stay a valid request for POST /api/v1/notifications/ (notify/api).
DEMO_NOTIFICATION = {
    "recipient": {
        "id": "demo-user",
        "email": "demo@example.com",
        "phone": "+14155552671",
        "push_tokens": ["demo-device-token"],
    },
    "channels": ["email", "sms", "push"],
    "content": {
        "email": {"subject": "Hello from Notify", "text": "It works."},
        "sms": {"text": "Hello from Notify: it works."},
        "push": {"title": "Hello from Notify", "body": "It works."},
    },
}


# What a default template needs instead of "content": its key and its variables (a missing
# variable is a 400). Must stay loadable from templates/notify/defaults/.
TEMPLATE_EXAMPLE: dict[str, Any] = {
    "template": "password-reset",
    "data": {"reset_url": "https://example.com/reset/demo"},
}


@dataclass(frozen=True)
class Urls:
    web: str
    flower: str
    sandbox: str


def curl_example(api: str, api_key: str) -> str:
    body = json.dumps(DEMO_NOTIFICATION)
    return " \\\n        ".join(
        [
            f"curl -sS -X POST {api}notifications/",
            f"-H {shlex.quote('Authorization: Bearer ' + api_key)}",
            "-H 'Content-Type: application/json'",
            f"-d {shlex.quote(body)}",
        ]
    )


def banner(
    urls: Urls,
    *,
    admin_password: str,
    api_key: str | None,
    flower_user: str = "admin",
    flower_password_at: str = "",
    public_url: str = "",
    database_url: str,
    redis_url: str,
    workers: str = "",
    templates: Sequence[str] = (),
) -> str:
    api = f"{urls.web}/api/v1/"
    rule = "=" * 78
    # Only where Flower's password is: it is not the admin's, and one secret in the
    # terminal's scrollback is enough.
    flower = f"{urls.flower}/   user {flower_user}"
    if flower_password_at:
        flower += f", password in {flower_password_at}"
    links = f"{public_url}/   (NOTIFY_PUBLIC_URL: unsubscribe and tracked links in messages)"
    rows = [
        ("API", api),
        ("API docs", f"{urls.web}/api/docs/"),
        ("Admin", f"{urls.web}/admin/   user admin, password {admin_password}"),
        ("Dashboard", f"{urls.web}/admin/dashboard/   (staff: delivery rates, queues, circuits)"),
        ("Flower", flower),
        ("Workers", workers),
        ("Sandbox", f"{urls.sandbox}/   (what the providers received)"),
        ("Links", links if public_url else ""),
        ("API key", api_key or "(none: create_api_key failed, see the log above)"),
        ("Templates", ", ".join(templates)),
        ("Postgres", mask(database_url)),
        ("Redis", mask(redis_url)),
    ]
    lines = ["", rule, f"  Notify is up: {urls.web}/", ""]
    lines += [f"  {name:<9} {value}" for name, value in rows if value]
    if api_key:
        lines += ["", "  Send one notification over email, SMS and push:", ""]
        lines += ["    " + curl_example(api, api_key), ""]
        lines += [f"  Then watch it arrive at {urls.sandbox}/ and in Flower."]
        if TEMPLATE_EXAMPLE["template"] in templates:
            lines += ['  Or send a default template instead of "content":']
            lines += ["    " + json.dumps(TEMPLATE_EXAMPLE)[1:-1]]
    lines += ["", "  Ctrl-C stops everything.", rule, ""]
    return "\n".join(lines) + "\n"
