"""Registering outbound webhook endpoints: the secret is shown once, endpoints belong to the key
that registered them, and URLs that point into a private network are refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from notify.models import ApiKey, WebhookEndpoint
from notify.services.access.apikeys import api_key_create
from tests.operations.conftest import client_for

URL = "/api/v1/webhooks/"


def _register(api: APIClient, url: str, **extra: Any) -> Any:
    return api.post(URL, {"url": url, **extra}, format="json")


def test_registering_shows_the_secret_once(api: APIClient) -> None:
    created = _register(api, "https://hooks.example.com/notify", events=["failed", "sent"])

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["sent", "failed"]
    assert body["active"] is True
    listed = api.get(URL).json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in api.get(f"{URL}{body['id']}/").json()
    assert WebhookEndpoint.objects.get().secret == body["secret"]


def test_rotating_the_secret_replaces_it(api: APIClient) -> None:
    created = _register(api, "https://hooks.example.com/notify").json()

    rotated = api.post(f"{URL}{created['id']}/rotate-secret/")

    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    assert WebhookEndpoint.objects.get().secret == rotated.json()["secret"]


def test_deleting_an_endpoint_removes_it(api: APIClient) -> None:
    created = _register(api, "https://hooks.example.com/notify").json()

    assert api.delete(f"{URL}{created['id']}/").status_code == 204
    assert api.get(URL).json() == []
    assert api.delete(f"{URL}{created['id']}/").status_code == 404


def test_endpoints_of_another_key_are_404(
    api: APIClient, other_tenant: tuple[ApiKey, APIClient]
) -> None:
    ours = _register(api, "https://hooks.example.com/ours").json()
    _, same_tenant = api_key_create(name="colleague")
    for client in (other_tenant[1], client_for(same_tenant)):
        assert client.get(URL).json() == []
        assert client.get(f"{URL}{ours['id']}/").status_code == 404
        assert client.delete(f"{URL}{ours['id']}/").status_code == 404
        assert client.post(f"{URL}{ours['id']}/rotate-secret/").status_code == 404
    assert WebhookEndpoint.objects.get().secret == ours["secret"]


@override_settings(NOTIFY_WEBHOOKS_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/x",
        "http://169.254.169.254/",
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://192.168.1.20/hook",
        "http://172.16.0.1/hook",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_private_network_targets_are_refused(api: APIClient, url: str) -> None:
    refused = _register(api, url)

    assert refused.status_code == 400, refused.content
    assert "url" in refused.json()["fields"]
    assert not WebhookEndpoint.objects.exists()


@override_settings(NOTIFY_WEBHOOKS_ALLOW_PRIVATE=False)
def test_a_public_address_is_accepted(api: APIClient) -> None:
    assert _register(api, "http://93.184.215.14/hook").status_code == 201


def test_only_http_and_https_without_credentials_are_accepted(api: APIClient) -> None:
    for url in ("ftp://hooks.example.com/x", "https://user:pw@hooks.example.com/x", "nope"):
        assert _register(api, url).status_code == 400, url
    assert _register(api, "https://x.example.com/", events=["sending"]).status_code == 400


@override_settings(NOTIFY_WEBHOOK_MAX_ENDPOINTS=2)
def test_a_key_has_a_limited_number_of_endpoints(api: APIClient) -> None:
    answers = [_register(api, f"https://hooks.example.com/{i}").status_code for i in range(3)]

    assert answers == [201, 201, 400]


def test_webhooks_need_the_manage_scope(db: Any) -> None:
    _, raw = api_key_create(name="sender", scopes=["send"])

    assert client_for(raw).get(URL).status_code == 403
    assert _register(client_for(raw), "https://hooks.example.com/").status_code == 403
