"""API keys: the raw key is shown once and never stored; revoking stops it working; only the
rate limit is changed in place."""

from __future__ import annotations

import hashlib
from typing import Any

from django.test import Client

from notify.models import ApiKey
from notify.services.access.apikeys import api_key_authenticate, api_key_create
from tests.admin.helpers import messages_of, run_action, shown

URL = "/admin/notify/apikey/"


def _create(client: Client, **fields: Any) -> Any:
    data = {
        "name": "billing",
        "tenant": "acme",
        "scopes": ["send", "read"],
        "expires_at_0": "",
        "expires_at_1": "",
        "_save": "Save",
        **fields,
    }
    return client.post(f"{URL}add/", data, follow=True)


def test_creating_a_key_shows_the_raw_key_once_and_stores_only_its_hash(
    admin_client: Client, db: Any
) -> None:
    response = _create(admin_client)

    key = ApiKey.objects.get()
    [created, _added] = messages_of(response)
    assert "it will not be shown again" in created
    raw = created.split('<code class="raw-api-key">')[1].split("</code>")[0]
    assert raw.startswith(f"ntf_{key.prefix}_")
    secret = raw.split("_", 2)[2]
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for value in ApiKey.objects.values().get().values())
    assert (key.name, key.tenant, key.scopes) == ("billing", "acme", ["send", "read"])
    assert api_key_authenticate(raw=raw) == key
    # Shown on the page after the redirect, and on no page after that.
    assert response.content.decode().count(raw) == 1
    assert raw not in admin_client.get(URL).content.decode()
    assert raw not in admin_client.get(f"{URL}{key.pk}/change/").content.decode()


def test_the_list_and_detail_show_the_prefix_never_the_hash(admin_client: Client, db: Any) -> None:
    key, _raw = api_key_create(name="ops", scopes=["read"])

    listing = admin_client.get(URL)
    detail = admin_client.get(f"{URL}{key.pk}/change/").content.decode()

    assert shown(listing) == [key]
    assert f"ntf_{key.prefix}_…" in listing.content.decode()
    assert f"ntf_{key.prefix}_…" in detail
    for page in (listing.content.decode(), detail):
        assert key.secret_hash not in page
        assert "secret" not in page.lower()
    # The rate limit is the one field that can be changed in place.
    assert 'name="rate_limit"' in detail
    for field in ("name", "tenant", "scopes", "expires_at_0"):
        assert f'name="{field}"' not in detail


def test_a_key_needs_at_least_one_scope_and_a_future_expiry(admin_client: Client, db: Any) -> None:
    no_scopes = _create(admin_client, scopes=[])
    past = _create(admin_client, expires_at_0="2020-01-01", expires_at_1="00:00:00")

    assert "This field is required." in no_scopes.content.decode()
    assert "Must be in the future" in past.content.decode()
    assert not ApiKey.objects.exists()


def test_revoking_makes_authentication_fail(admin_client: Client, db: Any) -> None:
    key, raw = api_key_create(name="leaked")
    kept, kept_raw = api_key_create(name="kept")

    response = run_action(admin_client, URL, "revoke_keys", [key])

    assert messages_of(response) == ["Revoked 1 key."]
    assert api_key_authenticate(raw=raw) is None
    assert api_key_authenticate(raw=kept_raw) == kept
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert admin_client.get(URL, {"state": "revoked"}).context["cl"].result_list[0] == key


def test_a_key_is_created_with_its_own_rate_limit(admin_client: Client, db: Any) -> None:
    bad = _create(admin_client, rate_limit="lots")
    assert "is not a rate" in bad.content.decode()
    assert not ApiKey.objects.exists()

    _create(admin_client, rate_limit="500/second")

    assert ApiKey.objects.get().rate_limit == "500/s"
    assert "500/s" in admin_client.get(URL).content.decode()


def test_a_keys_rate_limit_is_changed_in_place_and_nothing_else(
    admin_client: Client, db: Any
) -> None:
    key, raw = api_key_create(name="producer", tenant="acme", scopes=["send"])
    page = f"{URL}{key.pk}/change/"

    bad = admin_client.post(page, {"rate_limit": "0/s", "_save": "Save"})
    admin_client.post(
        page, {"rate_limit": "2000/m", "name": "renamed", "scopes": ["manage"], "_save": "Save"}
    )

    assert "is not a rate" in bad.content.decode()
    key.refresh_from_db()
    assert (key.rate_limit, key.name, key.scopes) == ("2000/m", "producer", ["send"])
    assert api_key_authenticate(raw=raw) == key

    admin_client.post(page, {"rate_limit": "", "_save": "Save"})
    key.refresh_from_db()
    assert key.rate_limit == ""
