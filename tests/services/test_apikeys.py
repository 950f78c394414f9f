"""API keys: the raw key is shown once; only a SHA-256 of its secret is stored."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from notify.models import ApiKey
from notify.services.apikeys import api_key_authenticate, api_key_create, api_key_revoke

RAW = re.compile(r"^ntf_([a-z0-9]{8})_([A-Za-z0-9_-]{40,})$")


def test_a_new_key_has_the_documented_format(db: Any) -> None:
    key, raw = api_key_create(name="ci", tenant="acme", scopes=["send"])

    match = RAW.match(raw)
    assert match, raw
    assert match.group(1) == key.prefix
    assert (key.name, key.tenant, key.scopes) == ("ci", "acme", ["send"])
    assert api_key_create(name="ci")[0].scopes == ["send", "read", "manage"]


def test_only_a_sha256_of_the_secret_is_stored(db: Any) -> None:
    key, raw = api_key_create(name="ci")
    secret = raw.split("_", 2)[2]

    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT row_to_json(k)::text FROM {ApiKey._meta.db_table} k WHERE id = %s", [key.pk]
        )
        [(row,)] = cursor.fetchall()
    assert secret not in row
    assert raw not in row
    assert stored.secret_hash in row


def test_the_raw_key_authenticates(db: Any) -> None:
    key, raw = api_key_create(name="ci")

    found = api_key_authenticate(raw=raw)

    assert found is not None and found.pk == key.pk
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None


def test_a_wrong_or_malformed_key_does_not_authenticate(db: Any) -> None:
    key, raw = api_key_create(name="ci")
    other, other_raw = api_key_create(name="other")
    secret = raw.split("_", 2)[2]

    for attempt in [
        f"ntf_{key.prefix}_{secret}x",
        f"ntf_{key.prefix}_{secret[:-1]}",
        f"ntf_{other.prefix}_{secret}",  # right secret, another key's prefix
        f"xyz_{key.prefix}_{secret}",
        f"ntf_{key.prefix}",
        "ntf__",
        "",
        secret,
        f"ntf_nosuchpx_{secret}",
    ]:
        assert api_key_authenticate(raw=attempt) is None, attempt
    assert api_key_authenticate(raw=other_raw) is not None


def test_a_revoked_key_does_not_authenticate(db: Any) -> None:
    key, raw = api_key_create(name="ci")

    api_key_revoke(key=key)

    assert api_key_authenticate(raw=raw) is None
    revoked_at = ApiKey.objects.get(pk=key.pk).revoked_at
    assert revoked_at is not None
    api_key_revoke(key=key)  # revoking again keeps the first time
    assert ApiKey.objects.get(pk=key.pk).revoked_at == revoked_at


def test_an_expired_key_does_not_authenticate(db: Any) -> None:
    _, expired = api_key_create(name="old", expires_at=timezone.now() - timedelta(seconds=1))
    _, current = api_key_create(name="new", expires_at=timezone.now() + timedelta(hours=1))

    assert api_key_authenticate(raw=expired) is None
    assert api_key_authenticate(raw=current) is not None
