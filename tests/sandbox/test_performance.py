from __future__ import annotations

import asyncio
import smtplib
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import aiohttp
import requests
from requests.adapters import HTTPAdapter
from twilio.rest import Client

from .helpers import ACCOUNT_SID, AUTH_TOKEN, Sandbox

SMS_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
FORM = {"To": "+15550000001", "From": "+15017122661", "Body": "load"}


def test_latency_delays_every_twilio_answer(sandbox: Sandbox, twilio_client: Client) -> None:
    sandbox.set_latency(200)

    started = time.monotonic()
    twilio_client.messages.create(to="+15550000001", from_="+15017122661", body="x")

    assert time.monotonic() - started >= 0.2


def test_latency_delays_the_smtp_data_reply(sandbox: Sandbox) -> None:
    sandbox.set_latency(200)
    message = EmailMessage()
    message["Subject"] = "slow"
    message.set_content("x")
    assert sandbox.smtp_port is not None

    with smtplib.SMTP(sandbox.host, sandbox.smtp_port, timeout=5) as client:
        started = time.monotonic()
        client.sendmail("a@notify.test", ["b@example.com"], message.as_bytes())
        elapsed = time.monotonic() - started

    assert elapsed >= 0.2


def test_200_concurrent_twilio_creates_all_succeed(sandbox: Sandbox) -> None:
    sandbox.set_latency(50)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=50, pool_maxsize=50))

    def create(_: int) -> int:
        url = sandbox.base_url + SMS_PATH
        return session.post(url, data=FORM, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=10).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(create, range(200)))

    assert statuses == [201] * 200
    assert sandbox.stats()["twilio"] == {"requests": 200, "accepted": 200}


def test_1000_concurrent_keep_alive_connections_share_the_latency(sandbox: Sandbox) -> None:
    sandbox.set_latency(500)

    async def burst() -> list[int]:
        # limit=0: one connection per in-flight request, all held open at once.
        connector = aiohttp.TCPConnector(limit=0)
        headers = {"Authorization": aiohttp.encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

            async def create() -> int:
                async with session.post(sandbox.base_url + SMS_PATH, data=FORM) as response:
                    await response.read()
                    return response.status

            return await asyncio.gather(*(create() for _ in range(1000)))

    started = time.monotonic()
    statuses = asyncio.run(burst())
    elapsed = time.monotonic() - started

    assert statuses == [201] * 1000
    # Serially this would take 500 s; sleeping on the loop keeps it to about one latency.
    assert elapsed < 10
