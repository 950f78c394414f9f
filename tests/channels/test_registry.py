"""Adding a channel is one module and one registry line. A toy channel, declared here and
registered through the public `channels.register()` (the call channels/__init__.py makes for
email, SMS and push), POSTs to a local HTTP receiver standing in for its provider. Without
touching any other module: the API accepts it and checks its content, planning plans it,
the outbox engine claims and sends it through the real DeliveryStream, the receiver gets it,
and the delivery is recorded as sent."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
import requests
from django.db import connection
from rest_framework.test import APIClient

import channels
from channels import Channel, DeliveryError, Message, Part
from notify.models import Delivery, DeliveryAttempt
from notify.services.access.apikeys import api_key_create
from notify.services.delivering.sending import DeliveryStream
from notify.services.operations.pauses import pause_targets
from notify.services.outbox.doorbell import STANDARD, queue_for
from notify.services.outbox.engine import Dispatcher
from tests.harness import wait_for
from tests.services.rows import forget_provider_state

URL = "/api/v1/notifications/"


class Receiver:
    """A provider stand-in: records each JSON body POSTed to it and answers with an id."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.append(body)
                answer = json.dumps({"id": f"toy-{len(received)}"}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/messages"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ToyChannel(Channel):
    """The whole channel: what it is, and how it sends."""

    name = "toy"
    addressed_by = "external_id"  # any Recipient field will do
    address_label = "toy id"
    parts = {"text": Part(160, required=True, single_line=True)}
    all_providers = ("toybox",)
    url = ""  # the receiver's, set by the fixture

    def send(self, message: Message) -> str:
        try:
            response = requests.post(
                self.url,
                json={"to": message.to, "text": message.content["text"], "id": message.delivery_id},
                timeout=5,
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"toybox unreachable: {exc}", code="connect_error") from exc
        if response.status_code >= 400:
            raise DeliveryError(f"toybox {response.status_code}", permanent=True)
        return str(response.json()["id"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    stand_in = Receiver()
    yield stand_in
    stand_in.close()


@pytest.fixture
def toy(receiver: Receiver) -> Iterator[type[ToyChannel]]:
    ToyChannel.url = receiver.url
    channels.register(ToyChannel)
    yield ToyChannel
    channels.unregister(ToyChannel.name)


@pytest.fixture
def caller(transactional_db: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(name='toy')[1]}")
    return client


@pytest.fixture
def engine(transactional_db: Any, redis_db: redis.Redis) -> Iterator[Any]:
    """Start an in-process outbox dispatcher over the given streams; stopped at the end.
    (The suite's worker, if running, serves only the channels registered in its own
    process, so it never claims toy deliveries.)"""
    forget_provider_state(redis_db)
    max_age = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 0  # the dispatcher's threads end with the test
    started: list[Dispatcher] = []

    def start(*streams: DeliveryStream) -> Dispatcher:
        dispatcher = Dispatcher(streams, capacity=4, reserve=0)
        dispatcher.start()
        started.append(dispatcher)
        return dispatcher

    yield start
    for dispatcher in started:
        dispatcher.stop(timeout=10)
    connection.settings_dict["CONN_MAX_AGE"] = max_age


def _body(**fields: Any) -> dict[str, Any]:
    return {
        "recipient": {"id": "toy-person"},
        "content": {"toy": {"text": "Hello, toy."}},
        **fields,
    }


def test_an_unregistered_channel_is_refused(db: Any, api: APIClient) -> None:
    response = api.post(URL, _body(channels=["toy"]), format="json")

    assert response.status_code == 400, response.content
    assert set(response.json()["fields"]) == {"channels.0", "content.non_field_errors"}
    assert not Delivery.objects.exists()


def test_a_registered_channel_is_accepted_planned_sent_and_received(
    toy: type[ToyChannel], caller: APIClient, engine: Any, receiver: Receiver
) -> None:
    engine(DeliveryStream(channel="toy", lane=STANDARD, limit=4))

    # No `channels`: planning picks every registered channel the content is for.
    response = caller.post(URL, _body(), format="json")

    assert response.status_code == 202, response.content
    [planned] = response.json()["deliveries"]
    assert (planned["channel"], planned["to"]) == ("toy", "toy-person")
    delivery_id = uuid.UUID(planned["id"])
    # The commit rang the toy stream's doorbell through Redis; the dispatcher took it.
    wait_for(
        lambda: Delivery.objects.get(id=delivery_id).status == "sent",
        timeout=20,
        what="the toy delivery sent",
    )
    assert receiver.received == [
        {"to": "toy-person", "text": "Hello, toy.", "id": str(delivery_id)}
    ]
    row = Delivery.objects.get(id=delivery_id)
    assert (row.provider, row.provider_message_id) == ("toybox", "toy-1")
    assert DeliveryAttempt.objects.filter(delivery=row, outcome="sent").count() == 1
    shown = caller.get(f"{URL}{response.json()['id']}/").json()
    assert shown["deliveries"][0]["status"] == "sent"


def test_a_registered_channels_content_rules_are_the_api_rules(
    toy: type[ToyChannel], caller: APIClient
) -> None:
    too_long = _body(content={"toy": {"text": "x" * 161}})
    two_lines = _body(content={"toy": {"text": "one\ntwo"}})

    for body in (too_long, two_lines):
        response = caller.post(URL, body, format="json")
        assert response.status_code == 400, response.content
        assert "content.toy.text" in response.json()["fields"]
    assert not Delivery.objects.exists()


def test_a_recipient_can_opt_out_of_a_registered_channel(
    toy: type[ToyChannel], caller: APIClient
) -> None:
    created = caller.post("/api/v1/categories/", {"key": "news", "name": "News"}, format="json")
    assert created.status_code == 201, created.content
    assert caller.post(URL, _body(), format="json").status_code == 202  # the recipient exists

    response = caller.put(
        "/api/v1/recipients/toy-person/preferences/",
        {"categories": {"news": {"toy": False}}},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["categories"]["news"] == {
        "email": True,
        "sms": True,
        "push": True,
        "toy": False,
    }
    sent = caller.post(URL, _body(category="news"), format="json")
    assert sent.status_code == 202, sent.content
    [skipped] = sent.json()["deliveries"]
    assert (skipped["channel"], skipped["status"], skipped["error_code"]) == (
        "toy",
        "skipped",
        "opted_out",
    )
    assert skipped["last_error"] == "recipient opted out of 'news' on toy"


def test_the_rest_of_notify_reads_the_registered_channel(toy: type[ToyChannel]) -> None:
    assert channels.names() == ("email", "sms", "push", "toy")
    assert ("toy", "toy") in channels.choices()  # Delivery.channel's choices
    assert channels.providers_for("toy") == ["toybox"]
    assert "toybox" in pause_targets("provider") and "toy" in pause_targets("channel")
    assert queue_for("toy", STANDARD) == "toy"
    assert "toy" not in channels.looked_up()  # no find(): an ambiguous send is sent again
    assert channels.looked_up() == ("sms",)
