from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.policy import compat32

import pytest

from .helpers import Sandbox


def email(to: str = "ada@example.com", delivery_id: str = "del-1") -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Welcome aboard"
    message["From"] = "Notify <noreply@notify.test>"
    message["To"] = to
    message["Message-ID"] = "<m1@notify.test>"
    message["X-Notify-Delivery-Id"] = delivery_id
    message.set_content("Hello in plain text")
    message.add_alternative("<p>Hello in <b>HTML</b></p>", subtype="html")
    return message


def send(sandbox: Sandbox, message: EmailMessage, *, login: bool = True) -> None:
    assert sandbox.smtp_port is not None
    with smtplib.SMTP(sandbox.host, sandbox.smtp_port, timeout=5) as client:
        if login:
            client.login("notify", "secret")
        client.send_message(message)


def test_it_records_the_parsed_message(sandbox: Sandbox) -> None:
    send(sandbox, email())

    [record] = sandbox.messages(provider="smtp")
    body = record["body"]
    assert record["to"] == "ada@example.com"
    assert record["summary"] == "Welcome aboard"
    assert record["delivery_id"] == "del-1"
    assert (record["status"], record["accepted"]) == (250, True)
    assert body["mail_from"] == "noreply@notify.test"
    assert body["rcpt_tos"] == ["ada@example.com"]
    assert body["auth_login"] == "notify"
    assert body["message_id"] == "<m1@notify.test>"
    assert body["text"].strip() == "Hello in plain text"
    assert body["html"].strip() == "<p>Hello in <b>HTML</b></p>"
    assert body["headers"]["X-Notify-Delivery-Id"] == "del-1"


def test_folded_headers_are_recorded_unfolded(sandbox: Sandbox) -> None:
    # Django's mail (policy compat32) folds a long List-Unsubscribe onto its own line; the
    # record must hold the URL a mail client would open, not " <…>" with the fold's space.
    link = "http://127.0.0.1:8000/u/" + "A" * 120 + "/"
    message = email(delivery_id="del-folded")
    message["List-Unsubscribe"] = f"<{link}>"
    raw = message.as_bytes(policy=compat32.clone(max_line_length=78))
    assert b"List-Unsubscribe: \n <http" in raw or b"List-Unsubscribe:\n <http" in raw
    assert sandbox.smtp_port is not None
    with smtplib.SMTP(sandbox.host, sandbox.smtp_port, timeout=5) as client:
        client.sendmail("noreply@notify.test", ["ada@example.com"], raw)

    [record] = sandbox.messages(provider="smtp")
    assert record["body"]["headers"]["List-Unsubscribe"] == f"<{link}>"
    assert record["delivery_id"] == "del-folded"


def test_it_accepts_mail_without_auth(sandbox: Sandbox) -> None:
    send(sandbox, email(), login=False)

    assert sandbox.messages()[0]["body"]["auth_login"] is None


def test_a_550_fault_refuses_the_recipient(sandbox: Sandbox) -> None:
    sandbox.add_fault(provider="smtp", kind="smtp_550", times=1)

    with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
        send(sandbox, email())

    assert caught.value.recipients == {"ada@example.com": (550, b"5.1.1 User unknown")}
    [record] = sandbox.messages()
    assert (record["status"], record["accepted"]) == (550, False)


def test_the_bounce_domain_always_refuses(sandbox: Sandbox) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(sandbox, email(to="gone@bounce.example"))


@pytest.mark.parametrize(("kind", "code"), [("smtp_451", 451), ("smtp_554", 554)])
def test_data_faults_raise_smtp_data_error(sandbox: Sandbox, kind: str, code: int) -> None:
    sandbox.add_fault(provider="smtp", kind=kind, times=1)

    with pytest.raises(smtplib.SMTPDataError) as caught:
        send(sandbox, email())

    assert caught.value.smtp_code == code
    [record] = sandbox.messages()
    assert record["delivery_id"] == "del-1"
    assert (record["status"], record["accepted"]) == (code, False)


def test_a_535_fault_fails_the_login(sandbox: Sandbox) -> None:
    sandbox.add_fault(provider="smtp", kind="smtp_535", times=1)

    with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
        send(sandbox, email())

    assert caught.value.smtp_code == 535
    assert sandbox.stats()["smtp"] == {"requests": 1, "accepted": 0}


def test_a_drop_fault_disconnects_after_the_data(sandbox: Sandbox) -> None:
    sandbox.add_fault(provider="smtp", kind="drop", times=1)

    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(sandbox, email())

    assert sandbox.messages()[0]["status"] is None


def test_a_slow_fault_times_out_the_client_after_accepting(sandbox: Sandbox) -> None:
    sandbox.add_fault(provider="smtp", kind="slow", delay_ms=1500, times=1)
    assert sandbox.smtp_port is not None
    client = smtplib.SMTP(sandbox.host, sandbox.smtp_port, timeout=0.5)

    # smtplib turns the read timeout into a disconnect: the "ambiguous" case.
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        client.send_message(email())
    client.close()

    assert sandbox.messages()[0]["accepted"] is True
