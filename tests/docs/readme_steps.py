"""What each README example is checked against: the status and fields the README shows, then
what a reader would look at next (the sandbox, the API, their webhook receiver). Used, in
README order, by test_readme_examples.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from notify.stack.banner import Urls, banner
from tests.docs.examples import ROOT, Block, Inline, field_names, json_keys, schema_fields
from tests.docs.reader import Reader, as_documented, run
from tests.docs.receiver import Received
from tests.harness import wait_for

# The rows of a recipient file the README's import answer describes: 42 exists (the quick
# start made it) and changes, one is new, and the third, 43, has a number no phone can have.
PEOPLE_CSV = "id,email,phone\n42,ada.lovelace@example.com,\n44,grace@example.com,+14155550123\n43,,+15550000000\n"
FLOWER = "5555"  # not started by the tests: Flower is a third-party UI over the same broker


def banner_urls_answer(reader: Reader, block: Block) -> None:
    """The banner's rows are the ones `make run` prints, and every URL in it answers."""
    real = banner(
        Urls(web=reader.web, flower="http://127.0.0.1:5555", sandbox=reader.sandbox.url),
        admin_password="x",
        api_key="ntf_x",
        flower_password_at=".data/flower-password",
        public_url=reader.web,
        database_url="postgres://db",
        redis_url="redis://r",
        workers="celery@host",
        templates=("welcome",),
    )
    labels = [line[2:11].strip() for line in block.text.splitlines()[1:] if line.strip()]
    printed = [line[2:11].strip() for line in real.splitlines()]
    assert labels == [label for label in printed if label in labels], (labels, printed)
    urls = sorted(set(re.findall(r"http://127\.0\.0\.1:\d+/\S*", block.text)))
    assert len(urls) >= 6
    for url in urls:
        if f":{FLOWER}/" in url:
            continue
        local = reader.shell.substitute(url)
        response = requests.get(local, timeout=15, allow_redirects=False)
        login = response.status_code == 302 and "/admin/login/" in response.headers["Location"]
        assert response.status_code == 200 or login, (url, response.status_code)


def quick_start_send(reader: Reader, block: Block) -> None:
    ((_, answer),) = run(reader, block)
    body = as_documented(answer, "", status=202)  # "The answer is `202 Accepted`"
    assert sorted(d["channel"] for d in body["deliveries"]) == ["email", "push", "sms"]
    assert {d["status"] for d in body["deliveries"]} == {"pending"}
    reader.notification_id = body["id"]


def quick_start_sent(reader: Reader, block: Block) -> None:
    """ "A moment later they are all `sent`", and the sandbox shows what the providers got."""
    reader.shell.replacements["<id>"] = reader.notification_id

    def all_sent() -> Any:
        ((_, answer),) = run(reader, block)
        body = as_documented(answer, "", status=200)
        return body if {d["status"] for d in body["deliveries"]} == {"sent"} else None

    wait_for(all_sent, timeout=30, interval=0.3, what="the quick start's deliveries to be sent")
    (email,) = reader.sandbox.accepted(provider="smtp", to="ada@example.com")
    assert email["summary"] == "Your password changed"
    (sms,) = reader.sandbox.accepted(provider="twilio", to="+14155552671")
    assert sms["body"]["Body"] == "Your password changed. Was it you?"
    (push,) = reader.sandbox.accepted(provider="fcm", to="device-token-1")
    assert push["body"]["notification"] == {"title": "Password changed", "body": "Was it you?"}
    page = requests.get(f"{reader.sandbox.url}/", timeout=10).text
    assert "Your password changed" in page and "ada@example.com" in page


def fault_then_three_attempts(reader: Reader, block: Block) -> None:
    """ "The next SMS is retried twice with backoff, then sent. The admin shows three attempts."""
    ((_, answer),) = run(reader, block)
    assert answer.status == 201, answer.body
    sent = reader.send(
        {"recipient": {"id": "42"}, "channels": ["sms"], "content": {"sms": {"text": "Retried"}}}
    )
    (delivery,) = reader.settled(sent)
    assert (delivery["status"], delivery["attempts"]) == ("sent", 3)
    hits = reader.sandbox.messages(provider="twilio", delivery_id=delivery["id"])
    assert sorted(m["status"] for m in hits) == [201, 503, 503]


def notification_body_fields_exist(reader: Reader, block: Block) -> None:
    """The body's shape has alternatives (`critical|high|…`, template or content), so it is
    not sent; every field it names must be one the API's OpenAPI schema accepts."""
    schema = requests.get(f"{reader.web}/api/schema/?format=json", timeout=15).json()
    operation = schema["paths"]["/api/v1/notifications/"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    accepted = schema_fields(schema, ref.rsplit("/", 1)[1])
    assert field_names(json.loads(block.text)) - accepted == set(), sorted(accepted)


def recipient_import(reader: Reader, block: Block) -> None:
    (reader.shell.cwd / "people.csv").write_text(PEOPLE_CSV)
    ((documented, answer),) = run(reader, block)
    as_documented(answer, documented, status=200)
    # dry_run: nothing stored
    assert reader.api("GET", "/api/v1/recipients/44/").status_code == 404


def template_files_exist(reader: Reader, block: Block) -> None:
    defaults = ROOT / "templates" / "notify" / "defaults" / "password-reset"
    assert (defaults / "description.txt").is_file()
    names = re.findall(r"\b(email|sms|push)\.(\w+)", block.text)
    assert len(names) >= 7
    for channel, part in names:
        assert (defaults / "default" / f"{channel}.{part}").is_file(), (channel, part)
    assert (defaults / "fr").is_dir()


def preferences_after_category(reader: Reader, block: Block) -> None:
    (category, preferences) = run(reader, block)
    as_documented(category[1], category[0], status=201)
    as_documented(preferences[1], preferences[0], status=200)
    stored = reader.api("GET", "/api/v1/recipients/42/preferences/").json()
    assert stored["categories"]["marketing"]["email"] is False
    # "an unknown one is a `400`": the reason the example creates the category first
    unknown = {"categories": {"newsletter": {"email": False}}}
    refused = reader.api("PUT", "/api/v1/recipients/42/preferences/", json=unknown)
    assert (refused.status_code, list(refused.json()["fields"])) == (400, ["categories"])


def quiet_hours_set(reader: Reader, inline: Inline) -> None:
    """The README's window is set as shown; what it promises is checked on a window around
    the present, and the recipient's quiet hours are then cleared: later steps send to 42 and
    must not depend on whether the suite runs at night in Paris (the README's 22:00-07:00)."""
    path = inline.url_path.replace("{id}", "42")
    response = reader.api("PUT", path, json=inline.body)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in inline.body} == inline.body
    now = datetime.now(ZoneInfo(inline.body["timezone"]))
    around_now = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%H:%M"),
    }
    assert reader.api("PUT", path, json={"quiet_hours": around_now}).status_code == 200
    email = {"channels": ["email"], "content": {"email": {"subject": "Night", "text": "Later"}}}
    waiting = reader.send({"recipient": {"id": "42"}, **email})
    (delivery,) = reader.notification(waiting)["deliveries"]
    assert (delivery["status"], delivery["error_code"]) == ("pending", "quiet_hours")
    cleared = reader.api("PUT", path, json={"quiet_hours": None})
    assert (cleared.status_code, cleared.json()["quiet_hours"]) == (200, None)


def replay_failed(reader: Reader, block: Block) -> None:
    """A failed SMS (the sandbox's magic invalid number), then the README's replay: it moves
    that delivery, and the worker sends it again with a fresh attempt budget."""
    failing = reader.send(
        {
            "recipient": {"id": "replayed", "phone": "+15005550001"},
            "content": {"sms": {"text": "Hi"}},
        }
    )
    (delivery,) = reader.settled(failing)
    assert delivery["status"] == "failed"
    ((documented, answer),) = run(reader, block)
    body = as_documented(answer, documented, status=202, loose=frozenset({"count"}))
    assert body["count"] == 1
    wait_for(
        lambda: len(reader.sandbox.messages(provider="twilio", delivery_id=delivery["id"])) == 2,
        what="the replayed SMS to be sent again",
    )


def channel_pause_and_resume(reader: Reader, inline: Inline) -> None:
    """Your channel pause holds your SMS back (pending, no attempt) while email goes on;
    resume sends it. Pausing a provider needs a key with the platform scope."""
    response = reader.api("POST", inline.url_path, json=inline.body)
    assert response.status_code == 200, response.text
    assert (response.json()["paused"], response.json()["pause"]["reason"]) == (True, "…")
    sms = {"channels": ["sms"], "content": {"sms": {"text": "Held"}}}
    held = reader.send({"recipient": {"id": "42"}, **sms})
    email = {"channels": ["email"], "content": {"email": {"subject": "Goes", "text": "on"}}}
    reader.settled(reader.send({"recipient": {"id": "42"}, **email}))
    # Not a timing check: the SMS must still be held after a sweep (every 1 s here) rang.
    time.sleep(1.5)
    (delivery,) = reader.notification(held)["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == ("pending", 0)
    resumed = reader.api("POST", inline.url_path.replace("/pause/", "/resume/"), json={})
    assert resumed.status_code == 200, resumed.text
    assert reader.settled(held)[0]["status"] == "sent"
    _provider_pause_is_a_platform_operation(reader)


def _provider_pause_is_a_platform_operation(reader: Reader) -> None:
    pause, twilio = "/api/v1/providers/twilio/pause/", "/api/v1/providers/"
    refused = reader.api("POST", pause, json={"reason": "x"})
    assert refused.status_code == 403, refused.text
    argv = ["manage.py", "create_api_key", "ops", "--scopes", "send,read,manage,platform"]
    made = subprocess.run(  # the README's create_api_key, as an operator runs it
        [sys.executable, *argv],
        cwd=ROOT,
        env=reader.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    platform = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
    paused = reader.api("POST", pause, json={"reason": "x"}, headers=platform)
    assert paused.status_code == 200, paused.text
    (tenant_view,) = [p for p in reader.api("GET", twilio).json() if p["name"] == "twilio"]
    (platform_view,) = [
        p for p in reader.api("GET", twilio, headers=platform).json() if p["name"] == "twilio"
    ]
    assert (tenant_view["platform_paused"], tenant_view["platform_pause"]) == (True, None)
    assert platform_view["platform_pause"]["reason"] == "x"
    resumed = reader.api("POST", pause.replace("/pause/", "/resume/"), json={}, headers=platform)
    assert (resumed.status_code, resumed.json()["platform_paused"]) == (200, False)


def webhook_registered_and_called(reader: Reader, block: Block) -> None:
    ((documented, answer),) = run(reader, block)
    endpoint = as_documented(answer, documented, status=201)
    reader.webhook_secret = endpoint["secret"]
    sent = reader.send(
        {"recipient": {"id": "42"}, "channels": ["sms"], "content": {"sms": {"text": "Hooked"}}}
    )
    reader.settled(sent)

    def delivered() -> list[Received]:
        return [
            r for r in reader.receiver.requests if json.loads(r.body)["type"] == "delivery.sent"
        ]

    reader.events = wait_for(delivered, timeout=30, what="the webhook POST")
    assert all(r.path == "/hooks/notify" for r in reader.receiver.requests)


def webhook_body_as_documented(reader: Reader, block: Block) -> None:
    (event,) = reader.events
    body = json.loads(event.body)
    assert json_keys(block.text) == set(body) | set(body["data"])
    for header in ("Notify-Webhook-Id", "Notify-Webhook-Timestamp", "Notify-Signature"):
        assert event.headers.get(header), header
    assert event.headers["Notify-Webhook-Id"] == body["id"]


def webhook_signature_verifies(reader: Reader, block: Block) -> None:
    """The README's verifier, run on the request Notify really sent: it accepts it and
    refuses the same body altered or signed with another secret."""
    code: dict[str, Any] = {}
    exec(compile(block.text, "README.md", "exec"), code)
    verify = code["verify_notify_signature"]
    (event,) = reader.events
    assert verify(reader.webhook_secret, event.headers, event.body) is True
    assert verify(reader.webhook_secret, event.headers, event.body + b" ") is False
    assert verify("whsec_other", event.headers, event.body) is False


def development_tree_exists(reader: Reader, block: Block) -> None:
    """Every name the tree shows exists where it shows it: indented names are inside the
    last directory named one level up; a name list ends at the first run of two spaces."""
    parents: dict[int, Path] = {}
    for line in block.text.splitlines():
        indent = len(line) - len(line.lstrip())
        if not line.strip() or indent >= 12:  # blank, or the description column wrapping
            continue
        base = parents[indent - 2] if indent else ROOT
        names = re.split(r"\s{2,}", line.strip())[0].split()
        for name in names:
            assert (base / name).exists(), base / name
        parents[indent] = base / names[-1]
