from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import firebase_admin
import pytest
from firebase_admin import messaging
from twilio.rest import Client

from .helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FCM_PROJECT,
    POSTMARK_BACKEND,
    POSTMARK_TOKEN,
    FixedTokenCredentials,
    Sandbox,
    SandboxTwilioHttpClient,
    ensure_django,
    running_sandbox,
)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox() as started:
        yield started


@pytest.fixture(autouse=True)
def fresh_sandbox(sandbox: Sandbox) -> None:
    sandbox.reset()


@pytest.fixture
def twilio_client(sandbox: Sandbox) -> Client:
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=SandboxTwilioHttpClient(sandbox.base_url))


@pytest.fixture
def fcm_app(sandbox: Sandbox) -> Iterator[firebase_admin.App]:
    # The messaging service formats FCM_URL once, at the app's first send.
    original = messaging._MessagingService.FCM_URL
    messaging._MessagingService.FCM_URL = sandbox.base_url + "/v1/projects/{0}/messages:send"
    app = firebase_admin.initialize_app(
        FixedTokenCredentials(),
        {"projectId": FCM_PROJECT, "httpTimeout": 5},
        name=f"sandbox-{uuid.uuid4().hex}",
    )
    try:
        yield app
    finally:
        firebase_admin.delete_app(app)
        messaging._MessagingService.FCM_URL = original


@pytest.fixture
def postmark_connection(sandbox: Sandbox) -> Any:
    """anymail's real Postmark backend, pointed at the sandbox the way Notify's settings do."""
    ensure_django()
    from django.core.mail import get_connection

    return get_connection(
        POSTMARK_BACKEND,
        api_url=f"{sandbox.base_url}/",
        server_token=POSTMARK_TOKEN,
        timeout=5,
    )
