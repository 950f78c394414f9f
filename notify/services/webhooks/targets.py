"""Where an outbound webhook may go: http(s) URLs without credentials whose host resolves
only to public addresses (unless private targets are allowed), and the POST that connects to
the very address that was checked, so a rebinding DNS server cannot answer a second lookup
differently. Used when an endpoint is registered (endpoints.py) and before each send
(delivery.py)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings


class TargetRefused(Exception):
    """The URL may not be called: wrong scheme, or an address on a private network."""


class TargetUnresolved(Exception):
    """The host name does not resolve (now)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    host_header: str


def target_parse(*, url: str) -> Target:
    """Only http(s), with a host and without credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("Only http and https URLs are allowed.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("Credentials in the URL are not allowed.")
    try:
        given = parts.port
    except ValueError as exc:
        raise TargetRefused("The port is not valid.") from exc
    if given == 0:  # no service listens on port 0 (and `or` used to turn it into 80 or 443)
        raise TargetRefused("The port is not valid.")
    port = given if given is not None else (443 if parts.scheme == "https" else 80)
    host = parts.hostname
    if not host:
        raise TargetRefused("The URL has no host.")
    shown_host = f"[{host}]" if ":" in host else host
    default_port = port == (443 if parts.scheme == "https" else 80)
    return Target(
        scheme=parts.scheme,
        host=host,
        port=port,
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        host_header=shown_host if default_port else f"{shown_host}:{port}",
    )


def target_address(*, target: Target, allow_private: bool) -> str:
    """The address to connect to. Every address the name resolves to must be public
    (unless `allow_private`): a name with one private address is refused outright."""
    addresses = _resolve(target.host, target.port)
    if not allow_private:
        for address in addresses:
            if address_forbidden(address):
                raise TargetRefused(
                    f"{target.host} resolves to {address}, a private, loopback, link-local, "
                    "multicast or reserved address."
                )
    return addresses[0]


def address_forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 addresses embedded in IPv6 (mapped, 6to4, NAT64) are judged as IPv4.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_forbidden(str(embedded))
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetUnresolved(f"{host} does not resolve: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetUnresolved(f"{host} does not resolve")
    return addresses


def target_post(
    target: Target, address: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    """POST `body` to the checked `address` (not a second lookup of the name), with the
    target's Host and, over TLS, its name checked against the certificate; no redirects or
    retries. Returns the status and the first 300 characters of the answer."""
    timeout = urllib3.Timeout(total=settings.NOTIFY_WEBHOOK_TIMEOUT_SECONDS)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            address, target.port, timeout=timeout, retries=False, maxsize=1
        )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
        )
        excerpt = response.read(300).decode(errors="replace")
        response.release_conn()
        return response.status, excerpt
    finally:
        pool.close()
