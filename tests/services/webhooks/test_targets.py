"""Where an outbound webhook may go (targets.py): URL rules, the private-address check on
every resolved address, and the POST to the checked address, against a real local server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from notify.services.webhooks.targets import (
    Target,
    TargetRefused,
    TargetUnresolved,
    address_forbidden,
    target_address,
    target_parse,
    target_post,
)


def test_a_url_becomes_a_target_with_its_host_header() -> None:
    assert target_parse(url="https://hooks.example.com/in?x=1") == Target(
        scheme="https",
        host="hooks.example.com",
        port=443,
        path="/in?x=1",
        host_header="hooks.example.com",
    )
    target = target_parse(url="http://[2606:4700::1]:8080")
    assert (target.port, target.path, target.host_header) == (8080, "/", "[2606:4700::1]:8080")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "Only http and https"),
        ("https://user:pw@example.com/", "Credentials"),
        ("https://example.com:99999/", "port is not valid"),
        ("https:///path", "no host"),
    ],
)
def test_urls_notify_must_not_call_are_refused(url: str, message: str) -> None:
    with pytest.raises(TargetRefused, match=message):
        target_parse(url=url)


def test_a_name_resolving_to_a_private_address_is_refused_unless_allowed() -> None:
    target = target_parse(url="http://127.0.0.1:9/")
    with pytest.raises(TargetRefused, match=r"127\.0\.0\.1 resolves to 127\.0\.0\.1"):
        target_address(target=target, allow_private=False)
    assert target_address(target=target, allow_private=True) == "127.0.0.1"


def test_a_name_that_does_not_resolve_says_so() -> None:
    with pytest.raises(TargetUnresolved, match="does not resolve"):
        target_address(target=target_parse(url="http://no-such-host.invalid/"), allow_private=True)


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("100.64.0.1", True),  # carrier-grade NAT
        ("fe80::1%eth0", True),
        ("2002:a00:1::", True),  # 6to4 wrapping 10.0.0.1
        ("64:ff9b::a9fe:a9fe", True),  # NAT64 of 169.254.169.254
        ("ff02::1", True),
        ("240.0.0.1", True),
    ],
)
def test_which_addresses_are_forbidden(address: str, forbidden: bool) -> None:
    assert address_forbidden(address) is forbidden


class _Receiver(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.seen.append((self.path, self.headers["Host"], body))
        self.send_response(202)
        self.end_headers()
        self.wfile.write(b"x" * 400)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.seen = []
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_the_post_goes_to_the_checked_address_with_the_urls_host(
    receiver: int, settings: Any
) -> None:
    settings.NOTIFY_WEBHOOK_TIMEOUT_SECONDS = 5
    target = target_parse(url=f"http://hooks.example.com:{receiver}/in?a=1")

    status, excerpt = target_post(target, "127.0.0.1", b'{"a":1}', {"X-Test": "1"})

    assert (status, excerpt) == (202, "x" * 300)  # the answer is cut to 300 characters
    assert _Receiver.seen == [("/in?a=1", f"hooks.example.com:{receiver}", b'{"a":1}')]
