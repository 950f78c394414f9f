"""Container health probe: GET a URL, exit 0 on a 2xx answer and 1 on anything else.

    python /app/docker/healthcheck.py http://127.0.0.1:8000/healthz [TIMEOUT_SECONDS]

Standard library only: the slim image has no curl. Used by the Dockerfile's HEALTHCHECK (the
API) and by docker-compose.yml (Flower, the provider sandbox).

Django answers 400 to a Host header that ALLOWED_HOSTS does not list, and every request goes
through that check. So when ALLOWED_HOSTS lets in neither the loopback address nor everything
("*"), the probe sends the first allowed host name as Host instead of 127.0.0.1.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

# Entries under which Django accepts the Host header of a request to 127.0.0.1.
_LOOPBACK_OK = {"*", "127.0.0.1", "localhost", "[::1]"}


def host_header(url: str, allowed_hosts: str | None) -> str | None:
    """The Host header to send, or None for the one urllib derives from the URL."""
    if allowed_hosts is None:
        return None  # the settings' default is 127.0.0.1 and localhost
    hosts = [h.strip().lower() for h in allowed_hosts.split(",") if h.strip()]
    if not hosts or _LOOPBACK_OK.intersection(hosts):
        return None
    host = hosts[0].lstrip(".")  # ".example.com" allows example.com and its subdomains
    port = urlsplit(url).port
    return f"{host}:{port}" if port else host


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(f"usage: {argv[0]} URL [TIMEOUT_SECONDS]", file=sys.stderr)
        return 2
    url = argv[1]
    if urlsplit(url).scheme not in ("http", "https"):
        print(f"not an http(s) URL: {url}", file=sys.stderr)
        return 2
    timeout = float(argv[2]) if len(argv) == 3 else 4.0
    headers = {"User-Agent": "notify-healthcheck"}
    host = host_header(url, os.environ.get("ALLOWED_HOSTS"))
    if host:
        headers["Host"] = host
    # No proxies: an HTTP(S)_PROXY set for the provider APIs must not catch a loopback probe.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
    try:
        with opener.open(request, timeout=timeout) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:  # refused, timed out, reset, bad URL
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if 200 <= status < 300:
        return 0
    print(f"unhealthy: {url} answered {status}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
