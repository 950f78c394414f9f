from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from notify.sandbox.twilio import num_segments

from .helpers import ACCOUNT_SID, AUTH_TOKEN, Sandbox, SandboxTwilioHttpClient

TO = "+15558675310"
FROM = "+15017122661"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


def raw_create(sandbox: Sandbox, **fields: str) -> requests.Response:
    form = {"To": TO, "From": FROM, "Body": "hello", **fields}
    return sandbox.api("POST", MESSAGES_PATH, data=form, auth=(ACCOUNT_SID, AUTH_TOKEN))


def test_it_queues_a_message_and_records_the_delivery_id(
    sandbox: Sandbox, twilio_client: Client
) -> None:
    message = twilio_client.messages.create(
        to=TO, from_=FROM, body="Your code is 1234", status_callback="http://x/cb?delivery=abc"
    )

    assert message.sid.startswith("SM")
    assert message.status == "queued"
    [record] = sandbox.messages(provider="twilio")
    assert record["delivery_id"] == "abc"
    assert record["to"] == TO
    assert record["summary"] == "Your code is 1234"
    assert record["accepted"] is True
    assert record["status"] == 201
    assert record["provider_id"] == message.sid
    assert record["body"]["From"] == FROM


def test_it_answers_with_twilios_message_resource_shape(sandbox: Sandbox) -> None:
    response = raw_create(sandbox, Body="x" * 161)

    assert response.status_code == 201
    resource = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", resource["sid"])
    assert resource["num_segments"] == "2"
    assert resource["num_media"] == "0"
    assert resource["direction"] == "outbound-api"
    assert parsedate_to_datetime(resource["date_created"]).utcoffset() is not None
    assert resource["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{resource['sid']}.json"


def test_it_reports_accepted_for_a_messaging_service_send(
    sandbox: Sandbox, twilio_client: Client
) -> None:
    message = twilio_client.messages.create(to=TO, messaging_service_sid="MG" + "1" * 32, body="x")

    assert message.status == "accepted"
    assert message.from_ is None


def test_it_fetches_and_lists_stored_messages_through_the_sdk(
    sandbox: Sandbox, twilio_client: Client
) -> None:
    sids = [twilio_client.messages.create(to=TO, from_=FROM, body=f"m{i}").sid for i in range(3)]
    twilio_client.messages.create(to="+15550000000", from_=FROM, body="other")

    assert twilio_client.messages(sids[0]).fetch().body == "m0"
    listed = twilio_client.messages.list(to=TO, page_size=2)
    assert [message.sid for message in listed] == sids[::-1]


def test_it_answers_404_for_an_unknown_message(twilio_client: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages("SM" + "0" * 32).fetch()

    assert caught.value.status == 404
    assert caught.value.code == 20404


def test_it_rejects_basic_auth_for_another_account(sandbox: Sandbox) -> None:
    response = sandbox.api(
        "POST", MESSAGES_PATH, data={"To": TO, "From": FROM, "Body": "x"}, auth=("ACother", "t")
    )

    assert response.status_code == 401
    assert response.json()["code"] == 20003
    [record] = sandbox.messages()
    assert record["accepted"] is False


def test_it_requires_a_to_number(sandbox: Sandbox) -> None:
    response = raw_create(sandbox, To="")

    assert response.status_code == 400
    assert response.json() == {
        "code": 21604,
        "message": "A 'To' phone number is required.",
        "more_info": "https://www.twilio.com/docs/errors/21604",
        "status": 400,
    }


def test_a_21211_fault_raises_once_then_sends(sandbox: Sandbox, twilio_client: Client) -> None:
    sandbox.add_fault(provider="twilio", kind="twilio_21211", times=1)

    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages.create(to=TO, from_=FROM, body="x")
    twilio_client.messages.create(to=TO, from_=FROM, body="x")

    assert caught.value.status == 400
    assert caught.value.code == 21211
    assert sandbox.stats()["twilio"] == {"requests": 2, "accepted": 1}


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("twilio_21610", 400, 21610), ("twilio_21614", 400, 21614), ("twilio_20003", 401, 20003)],
)
def test_twilio_error_faults_reach_the_sdk(
    sandbox: Sandbox, twilio_client: Client, kind: str, status: int, code: int
) -> None:
    sandbox.add_fault(provider="twilio", kind=kind, times=1)

    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages.create(to=TO, from_=FROM, body="x")

    assert (caught.value.status, caught.value.code) == (status, code)


def test_a_429_fault_carries_retry_after(sandbox: Sandbox, twilio_client: Client) -> None:
    sandbox.add_fault(provider="twilio", kind="http_429", times=2, retry_after=7)

    response = raw_create(sandbox)
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages.create(to=TO, from_=FROM, body="x")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["code"] == 20429
    assert (caught.value.status, caught.value.code) == (429, 20429)


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_503", 503)])
def test_server_errors_fall_back_to_the_status_as_code(
    sandbox: Sandbox, twilio_client: Client, kind: str, status: int
) -> None:
    sandbox.add_fault(provider="twilio", kind=kind, times=1)

    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages.create(to=TO, from_=FROM, body="x")

    assert (caught.value.status, caught.value.code) == (status, status)


def test_the_magic_number_is_always_invalid(sandbox: Sandbox, twilio_client: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages.create(to="+15005550001", from_=FROM, body="x")

    assert caught.value.code == 21211
    assert sandbox.messages()[0]["accepted"] is False


def test_a_fault_with_match_to_only_hits_that_recipient(
    sandbox: Sandbox, twilio_client: Client
) -> None:
    sandbox.add_fault(provider="twilio", kind="twilio_21610", match_to="+15550000099")

    twilio_client.messages.create(to=TO, from_=FROM, body="x")
    for _ in range(2):
        with pytest.raises(TwilioRestException):
            twilio_client.messages.create(to="+15550000099", from_=FROM, body="x")

    assert sandbox.stats()["twilio"] == {"requests": 3, "accepted": 1}


def test_a_drop_fault_closes_the_connection_unanswered(
    sandbox: Sandbox, twilio_client: Client
) -> None:
    sandbox.add_fault(provider="twilio", kind="drop", times=1)

    with pytest.raises(requests.ConnectionError):
        twilio_client.messages.create(to=TO, from_=FROM, body="x")

    [record] = sandbox.messages()
    assert (record["status"], record["accepted"]) == (None, False)


def test_a_slow_fault_times_out_the_sdk_after_accepting(sandbox: Sandbox) -> None:
    client = Client(
        ACCOUNT_SID, AUTH_TOKEN, http_client=SandboxTwilioHttpClient(sandbox.base_url, timeout=0.3)
    )
    sandbox.add_fault(provider="twilio", kind="slow", delay_ms=1500, times=1)

    with pytest.raises(requests.ReadTimeout):
        client.messages.create(to=TO, from_=FROM, body="x")

    [record] = sandbox.messages()
    assert record["accepted"] is True


@pytest.mark.parametrize(
    ("body", "segments"),
    [("a" * 160, 1), ("a" * 161, 2), ("€" * 80, 1), ("é" * 306, 2), ("ж" * 70, 1), ("ж" * 71, 2)],
    ids=["gsm-160", "gsm-161", "gsm-extended", "gsm-accented", "ucs2-70", "ucs2-71"],
)
def test_it_counts_segments_like_twilio(body: str, segments: int) -> None:
    assert num_segments(body) == segments
