"""SMTP stand-in: aiosmtpd served straight from the sandbox's event loop."""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from notify.sandbox.store import Store

MAGIC_BOUNCE_DOMAIN = "@bounce.example"
DATA_FAULTS = frozenset({"smtp_451", "smtp_554", "slow", "drop"})
DATA_REPLIES = {
    "smtp_451": "451 4.3.0 Try again later",
    "smtp_554": "554 5.7.1 Message rejected",
}
USER_UNKNOWN = "550 5.1.1 User unknown"
DELIVERY_HEADER = "x-notify-delivery-id"


class _HideLoginDataWarning(logging.Filter):
    # aiosmtpd 1.4.6 warns at every AUTH about an attribute it sets itself.
    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


def _text(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        return str(part.get_content())
    except (LookupError, ValueError):
        # Unknown charset or broken encoding: show the raw payload rather than lose it.
        return str(part.get_payload())


def _headers(message: Message) -> dict[str, str | list[str]]:
    headers: dict[str, str | list[str]] = {}
    for name, raw in message.items():
        # A header folded right after its colon (Django folds a long List-Unsubscribe that
        # way) keeps the fold's space: the record must show the value a mail client uses.
        value = str(raw).strip()
        previous = headers.get(name)
        if previous is None:
            headers[name] = value
        else:
            values = previous if isinstance(previous, list) else [previous]
            headers[name] = [*values, value]
    return headers


def parse_message(content: bytes) -> dict[str, Any]:
    message = message_from_bytes(content, policy=policy.default)
    assert isinstance(message, EmailMessage)  # guaranteed by policy.default
    attachments = [
        {
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
            "size": len(part.get_payload(decode=True) or b""),
        }
        for part in message.iter_attachments()
    ]
    return {
        "subject": str(message.get("Subject", "")),
        "from": str(message.get("From", "")),
        "to": str(message.get("To", "")),
        "message_id": str(message.get("Message-ID", "")),
        "headers": _headers(message),
        "text": _text(message, "plain"),
        "html": _text(message, "html"),
        "attachments": attachments,
    }


def _login(session: Session) -> str | None:
    auth_data = session.auth_data
    if isinstance(auth_data, LoginPassword):
        return auth_data.login.decode(errors="replace")
    return None


class SandboxHandler:
    def __init__(self, store: Store) -> None:
        self.store = store
        # smtplib tries the next mechanism after a 535 (PLAIN, then LOGIN), so one
        # rule use fails the whole connection's login instead of a single attempt.
        self._auth_failed: weakref.WeakSet[Session] = weakref.WeakSet()
        # Which connection carried each message, so a client's connection reuse shows.
        self._session_ids: weakref.WeakKeyDictionary[Session, str] = weakref.WeakKeyDictionary()

    def _session_id(self, session: Session) -> str:
        if session not in self._session_ids:
            self._session_ids[session] = secrets.token_hex(6)
        return self._session_ids[session]

    def authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        login = (
            auth_data.login.decode(errors="replace") if isinstance(auth_data, LoginPassword) else ""
        )
        if session in self._auth_failed:
            return AuthResult(success=False, handled=False)
        # No recipient is known yet at AUTH, so match_to is compared with the login name.
        if self.store.faults.take("smtp", [login], kinds={"smtp_535"}):
            self._auth_failed.add(session)
            body = {"auth_login": login, "mechanism": mechanism}
            self.store.add(
                provider="smtp",
                to="",
                delivery_id=None,
                summary="AUTH rejected",
                body=body,
                status=535,
                accepted=False,
            )
            return AuthResult(success=False, handled=False)
        # handled=False makes aiosmtpd store auth_data on the session (used as auth_login).
        return AuthResult(success=True, handled=False, auth_data=auth_data)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        bounce = address.lower().endswith(MAGIC_BOUNCE_DOMAIN)
        if bounce or self.store.faults.take("smtp", [address], kinds={"smtp_550"}):
            body = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": [address],
                "auth_login": _login(session),
            }
            self.store.add(
                provider="smtp",
                to=address,
                delivery_id=None,
                summary="RCPT rejected",
                body=body,
                status=550,
                accepted=False,
            )
            return USER_UNKNOWN
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    def _record_message(
        self, session: Session, envelope: Envelope, status: int | None, queue_id: str | None
    ) -> None:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        parsed = parse_message(raw)
        delivery_id = next(
            (value for name, value in parsed["headers"].items() if name.lower() == DELIVERY_HEADER),
            None,
        )
        self.store.add(
            provider="smtp",
            to=envelope.rcpt_tos[0] if envelope.rcpt_tos else "",
            delivery_id=delivery_id if isinstance(delivery_id, str) else None,
            summary=parsed["subject"][:200],
            body={
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "auth_login": _login(session),
                "session_id": self._session_id(session),
                **parsed,
            },
            status=status,
            accepted=queue_id is not None,
            provider_id=queue_id,
            raw=raw,
        )

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        rule = self.store.faults.take("smtp", envelope.rcpt_tos, kinds=DATA_FAULTS)
        kind = rule.kind if rule else ""
        queue_id = secrets.token_hex(5).upper()
        reply = DATA_REPLIES.get(kind, f"250 2.0.0 Ok: queued as {queue_id}")
        accepted = reply.startswith("250") and kind != "drop"
        status = None if kind == "drop" else int(reply[:3])
        self._record_message(session, envelope, status, queue_id if accepted else None)
        delay_ms = self.store.latency_ms + ((rule.delay_ms or 0) if rule and kind == "slow" else 0)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        if kind == "drop" and server.transport is not None:
            # The final "." has been read, so the client cannot tell whether we kept it.
            server.transport.close()
        return reply


class SmtpListener:
    """The listening socket plus its live sessions, so shutdown need not wait on idle clients."""

    def __init__(self, server: asyncio.Server, sessions: weakref.WeakSet[SMTP]) -> None:
        self.server = server
        self.sessions = sessions

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self.server.close()
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.close()
        await self.server.wait_closed()


async def start_smtp(store: Store, host: str, port: int) -> SmtpListener:
    """Listen on the running loop; unlike aiosmtpd's Controller this accepts port 0."""
    logging.getLogger("mail.log").addFilter(_HideLoginDataWarning())
    handler = SandboxHandler(store)
    loop = asyncio.get_running_loop()
    sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def factory() -> SMTP:
        # A fixed hostname: the default calls socket.getfqdn() on every connection.
        session = SMTP(
            handler,
            hostname="notify-sandbox",
            ident="Notify provider sandbox",
            authenticator=handler.authenticate,
            auth_require_tls=False,
            enable_SMTPUTF8=True,
            loop=loop,
        )
        sessions.add(session)
        return session

    server = await loop.create_server(factory, host, port, backlog=1024)
    return SmtpListener(server, sessions)
