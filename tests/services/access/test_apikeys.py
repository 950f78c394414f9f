"""API keys: the raw key is shown once; only a SHA-256 of its secret is stored."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import time_machine
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from notify.models import ApiKey
from notify.services.access.apikeys import (
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    api_key_set_rate,
)

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


def _revoked_elsewhere(key: ApiKey) -> None:
    # What another web process (or the admin on another host) writes: no local eviction.
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())


@override_settings(NOTIFY_API_KEY_CACHE_SECONDS=10)
def test_a_checked_key_is_not_read_again_within_the_bound(
    db: Any, django_assert_num_queries: Any
) -> None:
    _, raw = api_key_create(name="ci")
    assert api_key_authenticate(raw=raw) is not None  # read, and last_used_at written

    with django_assert_num_queries(0):
        assert api_key_authenticate(raw=raw) is not None


@override_settings(NOTIFY_API_KEY_CACHE_SECONDS=10)
def test_a_revocation_made_elsewhere_takes_effect_within_the_bound(db: Any) -> None:
    key, raw = api_key_create(name="ci")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert api_key_authenticate(raw=raw) is not None
        _revoked_elsewhere(key)

        clock.shift(timedelta(seconds=9))
        still = api_key_authenticate(raw=raw)
        clock.shift(timedelta(seconds=2))
        after = api_key_authenticate(raw=raw)

    assert still is not None  # the documented window
    assert after is None


@override_settings(NOTIFY_API_KEY_CACHE_SECONDS=10)
def test_a_revocation_or_new_limit_in_this_process_takes_effect_at_once(db: Any) -> None:
    key, raw = api_key_create(name="ci")
    limited, limited_raw = api_key_create(name="limited")
    assert api_key_authenticate(raw=raw) is not None
    assert api_key_authenticate(raw=limited_raw) is not None

    api_key_revoke(key=ApiKey.objects.get(pk=key.pk))
    api_key_set_rate(key=ApiKey.objects.get(pk=limited.pk), rate_limit="5/m")

    assert api_key_authenticate(raw=raw) is None
    found = api_key_authenticate(raw=limited_raw)
    assert found is not None and found.rate_limit == "5/m"


@override_settings(NOTIFY_API_KEY_CACHE_SECONDS=3600)
def test_a_remembered_key_still_expires_on_time(db: Any) -> None:
    _, raw = api_key_create(name="ci", expires_at=timezone.now() + timedelta(minutes=1))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert api_key_authenticate(raw=raw) is not None
        clock.shift(timedelta(minutes=2))
        assert api_key_authenticate(raw=raw) is None


@override_settings(NOTIFY_API_KEY_CACHE_SECONDS=0)
def test_with_no_cache_a_revocation_elsewhere_applies_at_once(db: Any) -> None:
    key, raw = api_key_create(name="ci")
    assert api_key_authenticate(raw=raw) is not None

    _revoked_elsewhere(key)

    assert api_key_authenticate(raw=raw) is None
