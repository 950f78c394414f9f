"""Test data for bench.retention: recipients, notifications, deliveries and attempts written
with INSERT … SELECT over generate_series (the ORM would take an hour for ~2.5M rows).

Columns are taken from the models: the ones given below get a generated value, every other
one its model default (or NULL), so a column added later does not break the script the way
hand-written INSERTs broke bench.backlog. Values are derived from hashes, not random(), so
two runs write the same data.

Shape: notifications spread evenly over 120 days, 1 to 3 deliveries each (email, SMS, push);
deliveries 55% sent, 30% delivered, 5% failed (3 attempts), 7% skipped, 3% cancelled; the
last hour's still pending (due), the last two minutes' sending; one notification in 1,000
scheduled 1 to 30 days ahead whatever its age (what retention must keep). Tenants: "default"
~70%, "acme" ~30%, "small" 0.5%."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.db import connection
from django.db.models import Model

from notify.models.notifications import Delivery, DeliveryAttempt, Notification
from notify.models.recipients import Recipient

DAYS = 120
RECIPIENTS = 50_000
CHUNK = 50_000
CONTENT = {
    "email": {
        "subject": "Your order has shipped",
        "text": "Your order 4711 has shipped and will arrive on Thursday. Track it at "
        "https://shop.example/track/4711.",
        "html": "<p>Your order 4711 has shipped and will arrive on Thursday. Track it at "
        '<a href="https://shop.example/track/4711">shop.example</a>.</p>',
    },
    "sms": {"text": "Your order 4711 has shipped: https://shop.example/track/4711"},
    "push": {"title": "Order shipped", "body": "Arriving Thursday", "data": {"order": "4711"}},
}

# A uuid7-like key: milliseconds first, so ids (and their index) grow in time order as real
# uuid7 ids do; {ts} and {salt} are SQL expressions.
_UUID = "(lpad(to_hex(floor(extract(epoch FROM {ts}) * 1000)::bigint), 12, '0') || substr(md5({salt}), 1, 20))::uuid"  # noqa: E501
_RECIPIENT_ID = "md5('r' || {k})::uuid"

_RECIPIENT = {
    "id": _RECIPIENT_ID.format(k="k"),
    "external_id": "'user-' || k",
    "email": "'user' || k || '@example.com'",
    "phone": "'+1415' || lpad(k::text, 7, '0')",
    "created_at": "now() - interval '200 days'",
    "updated_at": "now() - interval '200 days'",
}
_NOTIFICATION = {
    "id": _UUID.format(ts="g.ts", salt="g.i::text"),
    "tenant": "CASE WHEN mod(g.i, 200) = 0 THEN 'small' "
    "WHEN mod(g.i, 10) < 3 THEN 'acme' ELSE 'default' END",
    "recipient_id": _RECIPIENT_ID.format(k=f"(1 + mod(g.i::bigint * 7919, {RECIPIENTS}))"),
    "category": "(ARRAY['account', 'orders', 'marketing', 'security'])[1 + mod(g.i, 4)]",
    "priority": "CASE WHEN mod(g.i, 50) = 0 THEN 0 WHEN mod(g.i, 10) = 1 THEN 1 "
    "WHEN mod(g.i, 7) = 0 THEN 3 ELSE 2 END",
    "template_key": "'order_shipped'",
    "template_version": "1",
    "content": "%(content)s::jsonb",
    "send_at": "CASE WHEN mod(g.i, 1000) = 7 "
    "THEN now() + (1 + mod(g.i, 30)) * interval '1 day' END",
    "idempotency_key": "CASE WHEN g.ts > now() - interval '1 day' AND mod(g.i, 3) = 0 "
    "THEN 'key-' || g.i END",
    "created_at": "g.ts",
}
# Per delivery: n (the notification), c (1 email, 2 sms, 3 push), st.s (its status).
_STATUS = """CASE
    WHEN n.send_at IS NOT NULL OR n.created_at > now() - interval '1 hour' THEN
        CASE WHEN n.send_at IS NULL AND n.created_at > now() - interval '2 minutes'
        THEN 'sending' ELSE 'pending' END
    ELSE CASE
        WHEN h.r < 5500 THEN 'sent' WHEN h.r < 8500 THEN 'delivered'
        WHEN h.r < 9000 THEN 'failed' WHEN h.r < 9700 THEN 'skipped' ELSE 'cancelled' END
    END"""
_SENT = "st.s IN ('sent', 'delivered')"
_DELIVERY = {
    "id": _UUID.format(ts="n.created_at", salt="n.id::text || c"),
    "notification_id": "n.id",
    "channel": "(ARRAY['email', 'sms', 'push'])[c]",
    "to": "CASE c WHEN 1 THEN 'user' || h.r || '@example.com' "
    "WHEN 2 THEN '+1415555' || lpad(h.r::text, 4, '0') ELSE repeat(md5(n.id::text), 4) END",
    "status": "st.s",
    "priority": "n.priority",
    "attempts": "CASE st.s WHEN 'failed' THEN 3 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 1 "
    "WHEN 'sending' THEN 1 ELSE 0 END",
    "provider": "CASE WHEN st.s IN ('pending', 'skipped', 'cancelled') THEN '' "
    "ELSE (ARRAY['smtp', 'twilio', 'fcm'])[c] END",
    "provider_message_id": f"CASE WHEN {_SENT} THEN (ARRAY['<' || md5(n.id::text || c) || "
    "'@notify.local>', 'SM' || md5(n.id::text || c), "
    "'projects/bench/messages/' || md5(n.id::text || c)])[c] ELSE '' END",
    "error_code": "CASE st.s WHEN 'failed' THEN 'invalid_recipient' "
    "WHEN 'skipped' THEN 'no_contact' ELSE '' END",
    "last_error": "CASE st.s WHEN 'failed' THEN 'The provider refused the address' ELSE '' END",
    "next_attempt_at": "coalesce(n.send_at, n.created_at)",
    "lease_token": "CASE st.s WHEN 'sending' THEN md5(n.id::text)::uuid END",
    # Long enough not to run out while the benchmark runs (the sweeper would then settle them).
    "lease_until": "CASE st.s WHEN 'sending' THEN now() + interval '1 hour' END",
    "created_at": "n.created_at",
    "updated_at": "n.created_at + interval '2 seconds'",
    "sent_at": f"CASE WHEN {_SENT} THEN n.created_at + interval '1 second' END",
    "delivered_at": "CASE st.s WHEN 'delivered' THEN n.created_at + interval '5 seconds' END",
}
_ATTEMPT = {
    "delivery_id": "d.id",
    "number": "a",
    "provider": "d.provider",
    "outcome": "CASE WHEN d.status = 'failed' THEN "
    "CASE WHEN a < 3 THEN 'transient' ELSE 'permanent' END ELSE 'sent' END",
    "error_code": "CASE WHEN d.status = 'failed' THEN d.error_code ELSE '' END",
    "error_message": "d.last_error",
    "provider_message_id": "d.provider_message_id",
    "started_at": "d.created_at + (a - 1) * interval '1 minute'",
    "duration_ms": "80 + mod(a * 37, 200)",
}


def _insert(model: type[Model], given: dict[str, str], params: dict[str, Any]) -> str:
    """`INSERT INTO table (columns) SELECT values`; the FROM clause is the caller's."""
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.get_internal_type() in ("AutoField", "BigAutoField"):
            continue  # the database numbers these
        columns.append(connection.ops.quote_name(str(field.column)))
        if field.column in given:
            values.append(given[field.column])
        elif field.has_default():
            key = f"{model._meta.model_name}_{field.column}"
            params[key] = field.get_db_prep_save(field.get_default(), connection)
            values.append(f"%({key})s")
        elif field.null:
            values.append("NULL")
        else:
            raise RuntimeError(f"bench.retention: no value for {model.__name__}.{field.name}")
    return f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)}"


def _chunk_sql(params: dict[str, Any]) -> str:
    notifications = _insert(Notification, _NOTIFICATION, params)
    deliveries = _insert(Delivery, _DELIVERY, params)
    attempts = _insert(DeliveryAttempt, _ATTEMPT, params)
    # Every piece is a constant of this module; the values travel as parameters.
    return f"""
WITH g AS (
    SELECT i, now() - %(days)s * interval '1 day'
              + (i - 1 + mod(abs(hashtext(i::text)), 1000) / 1000.0) * %(step)s::interval AS ts
    FROM generate_series(%(first)s, %(last)s) AS i
), n AS (
    {notifications} FROM g RETURNING id, created_at, priority, send_at
), d AS (
    {deliveries}
    FROM n CROSS JOIN LATERAL generate_series(1, 1 + mod(abs(hashtext(n.id::text)), 3)) AS c
    CROSS JOIN LATERAL (SELECT mod(abs(hashtext(n.id::text || c)), 10000) AS r) AS h
    CROSS JOIN LATERAL (SELECT {_STATUS} AS s) AS st
    RETURNING id, status, provider, provider_message_id, error_code, last_error, created_at
)
{attempts} FROM d CROSS JOIN LATERAL generate_series(1, CASE d.status WHEN 'failed' THEN 3
    WHEN 'sent' THEN 1 WHEN 'delivered' THEN 1 ELSE 0 END) AS a
"""  # noqa: S608


def generate(notifications: int) -> None:
    params: dict[str, Any] = {}
    recipients = _insert(Recipient, _RECIPIENT, params)
    with connection.cursor() as cursor:
        cursor.execute(f"{recipients} FROM generate_series(1, {RECIPIENTS}) AS k", params)
        params |= {
            "content": json.dumps(CONTENT),
            "days": DAYS,
            "step": f"{DAYS * 86400 / notifications} seconds",
        }
        sql = _chunk_sql(params)
        for first in range(1, notifications + 1, CHUNK):
            started = time.perf_counter()
            last = min(first + CHUNK - 1, notifications)
            cursor.execute(sql, params | {"first": first, "last": last})
            print(
                f"generated notifications {first}-{last} in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )
