from __future__ import annotations

import pytest
from firebase_admin import App, exceptions, messaging
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .helpers import FCM_PROJECT, Sandbox

SEND_PATH = f"/v1/projects/{FCM_PROJECT}/messages:send"
BEARER = {"Authorization": "Bearer test"}
pytestmark = pytest.mark.filterwarnings("ignore:Message.token is deprecated:DeprecationWarning")


def push(token: str = "device-token-1", delivery_id: str = "d1") -> messaging.Message:
    return messaging.Message(
        token=token,
        notification=messaging.Notification(title="Order shipped", body="It is on its way"),
        data={"notify_delivery_id": delivery_id},
    )


def test_it_returns_a_message_name_and_records_the_push(sandbox: Sandbox, fcm_app: App) -> None:
    name = messaging.send(push(), app=fcm_app)

    assert name.startswith(f"projects/{FCM_PROJECT}/messages/0:")
    [record] = sandbox.messages(provider="fcm")
    assert record["to"] == "device-token-1"
    assert record["delivery_id"] == "d1"
    assert record["summary"] == "Order shipped"
    assert record["provider_id"] == name
    assert record["body"]["notification"] == {"title": "Order shipped", "body": "It is on its way"}


def test_it_accepts_fid_targets(sandbox: Sandbox, fcm_app: App) -> None:
    messaging.send(messaging.Message(fid="fid-1", data={"k": "v"}), app=fcm_app)

    assert sandbox.messages()[0]["to"] == "fid-1"


def test_a_dry_run_is_validated_but_not_sent(sandbox: Sandbox, fcm_app: App) -> None:
    name = messaging.send(push(), dry_run=True, app=fcm_app)

    assert name == f"projects/{FCM_PROJECT}/messages/fake_message_id"


@pytest.mark.parametrize(
    ("kind", "exception"),
    [
        ("fcm_unregistered", messaging.UnregisteredError),
        ("fcm_invalid_argument", exceptions.InvalidArgumentError),
        ("fcm_sender_id_mismatch", messaging.SenderIdMismatchError),
        ("http_429", messaging.QuotaExceededError),
    ],
)
def test_faults_map_to_firebase_exceptions_in_one_hit(
    sandbox: Sandbox, fcm_app: App, kind: str, exception: type[Exception]
) -> None:
    sandbox.add_fault(provider="fcm", kind=kind)

    with pytest.raises(exception):
        messaging.send(push(), app=fcm_app)

    assert sandbox.stats()["fcm"] == {"requests": 1, "accepted": 0}


def test_a_third_party_auth_error_is_retried_by_the_sdk(sandbox: Sandbox, fcm_app: App) -> None:
    sandbox.add_fault(provider="fcm", kind="fcm_third_party_auth")

    with pytest.raises(messaging.ThirdPartyAuthError):
        messaging.send(push(), app=fcm_app)

    # google-auth refreshes and retries on 401 before giving up (providers.md §5).
    assert sandbox.stats()["fcm"]["requests"] == 3


def test_the_magic_token_is_always_unregistered(sandbox: Sandbox, fcm_app: App) -> None:
    with pytest.raises(messaging.UnregisteredError):
        messaging.send(push(token="unregistered-token"), app=fcm_app)


def test_it_requires_a_bearer_token(sandbox: Sandbox) -> None:
    response = sandbox.api("POST", SEND_PATH, json={"message": {"token": "t"}})

    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_a_429_fault_carries_retry_after(sandbox: Sandbox) -> None:
    sandbox.add_fault(provider="fcm", kind="http_429", retry_after=3)

    response = sandbox.api("POST", SEND_PATH, json={"message": {"token": "t"}}, headers=BEARER)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["error"]["details"] == [
        {
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": "QUOTA_EXCEEDED",
        }
    ]


def test_a_503_fault_answers_unavailable(sandbox: Sandbox) -> None:
    sandbox.add_fault(provider="fcm", kind="http_503", times=1)

    response = sandbox.api("POST", SEND_PATH, json={"message": {"token": "t"}}, headers=BEARER)

    assert response.status_code == 503
    assert response.json()["error"]["status"] == "UNAVAILABLE"


def test_a_503_reaches_the_sdk_as_unavailable_without_its_retries(
    sandbox: Sandbox, fcm_app: App
) -> None:
    session = messaging._get_messaging_service(fcm_app)._client.session
    session.mount("http://", HTTPAdapter(max_retries=Retry(total=0, raise_on_status=False)))
    sandbox.add_fault(provider="fcm", kind="http_503")

    with pytest.raises(exceptions.UnavailableError):
        messaging.send(push(), app=fcm_app)

    assert sandbox.stats()["fcm"]["requests"] == 1


def test_it_rejects_non_string_data_values(sandbox: Sandbox) -> None:
    body = {"message": {"token": "t", "data": {"n": 1}}}

    response = sandbox.api("POST", SEND_PATH, json=body, headers=BEARER)

    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
