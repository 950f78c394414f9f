"""The stand-ins' own ceiling: valid requests from a trivial asyncio client (no SDK), many in
flight, for a few seconds. It shows how far the stand-ins are from limiting any other figure.

Run as `python -m bench.standin_probe PROVIDER URL_OR_PORT SECONDS CONCURRENCY`; prints JSON."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time

import aiohttp

_SID = "AC" + "0" * 32
_MAIL = (
    b"From: bench@example.com\r\nTo: probe@example.com\r\nSubject: probe\r\n"
    b"Message-ID: <probe@bench>\r\n\r\nprobe\r\n.\r\n"
)


async def _http_worker(
    session: aiohttp.ClientSession, provider: str, base: str, deadline: float, counts: list[int]
) -> None:
    if provider == "twilio":
        url = f"{base}/2010-04-01/Accounts/{_SID}/Messages.json"
        auth = base64.b64encode(f"{_SID}:token".encode()).decode()
        headers = {"Authorization": f"Basic {auth}"}
        form = {"To": "+14155550100", "From": "+15005550006", "Body": "probe"}
        while time.monotonic() < deadline:
            async with session.post(url, data=form, headers=headers) as response:
                await response.read()
                counts[response.status < 300] += 1
    else:
        url = f"{base}/v1/projects/bench/messages:send"
        body = {"message": {"token": "probe-token", "notification": {"title": "probe"}}}
        headers = {"Authorization": "Bearer probe"}
        while time.monotonic() < deadline:
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                counts[response.status < 300] += 1


async def _expect(reader: asyncio.StreamReader, code: bytes) -> None:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("SMTP connection closed")
        if line[3:4] != b"-":  # last line of a (possibly multi-line) reply
            if not line.startswith(code):
                raise ConnectionError(f"SMTP: {line!r}")
            return


async def _smtp_worker(port: int, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await _expect(reader, b"220")
    writer.write(b"EHLO probe\r\n")
    await _expect(reader, b"250")
    while time.monotonic() < deadline:
        for command, code in (
            (b"MAIL FROM:<bench@example.com>\r\n", b"250"),
            (b"RCPT TO:<probe@example.com>\r\n", b"250"),
            (b"DATA\r\n", b"354"),
        ):
            writer.write(command)
            await _expect(reader, code)
        writer.write(_MAIL)
        await _expect(reader, b"250")
        counts[1] += 1
    writer.write(b"QUIT\r\n")
    writer.close()


async def probe(provider: str, target: str, seconds: float, concurrency: int) -> dict[str, float]:
    counts = [0, 0]  # [failed, accepted]
    started = time.monotonic()
    cpu = time.process_time()
    deadline = started + seconds
    if provider == "smtp":
        await asyncio.gather(
            *(_smtp_worker(int(target), deadline, counts) for _ in range(concurrency))
        )
    else:
        connector = aiohttp.TCPConnector(limit=concurrency)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await asyncio.gather(
                *(
                    _http_worker(session, provider, target, deadline, counts)
                    for _ in range(concurrency)
                )
            )
    elapsed = time.monotonic() - started
    return {
        "requests_per_s": round(counts[1] / elapsed, 1),
        "failed": counts[0],
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "client_cpu_fraction": round((time.process_time() - cpu) / elapsed, 3),
    }


def main() -> None:
    provider, target, seconds, concurrency = sys.argv[1:5]
    result = asyncio.run(probe(provider, target, float(seconds), int(concurrency)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
