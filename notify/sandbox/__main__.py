"""Command line: python -m notify.sandbox [--host H] [--http-port P] [--smtp-port P] ..."""

from __future__ import annotations

import argparse
import logging
import resource
from collections.abc import Sequence

from notify.sandbox.server import SandboxConfig, run
from notify.sandbox.store import DEFAULT_CAPACITY, PROVIDERS


def parse_args(argv: Sequence[str] | None = None) -> SandboxConfig:
    parser = argparse.ArgumentParser(
        prog="python -m notify.sandbox",
        description="Stand-ins for SMTP, Postmark, Twilio and FCM, with a control API and UI.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8025, help="0 picks a free port")
    parser.add_argument("--smtp-port", type=int, default=2525, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay before every answer")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=PROVIDERS,
        metavar="PROVIDER",
        help="any of " + ", ".join(PROVIDERS),
    )
    parser.add_argument("--capacity", type=int, default=DEFAULT_CAPACITY, help="records kept")
    parser.add_argument("--access-log", action="store_true", help="log every HTTP request")
    args = parser.parse_args(argv)
    if args.latency_ms < 0 or args.capacity < 1:
        parser.error("--latency-ms must be >= 0 and --capacity >= 1")
    return SandboxConfig(
        host=args.host,
        http_port=args.http_port,
        smtp_port=args.smtp_port,
        latency_ms=args.latency_ms,
        providers=frozenset(args.only or PROVIDERS),
        capacity=args.capacity,
        access_log=args.access_log,
    )


def raise_file_limit() -> None:
    # Each keep-alive client holds a descriptor; a 1024 soft limit would cap a load
    # test at about a thousand connections although the hard limit allows more.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def main(argv: Sequence[str] | None = None) -> None:
    config = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # aiosmtpd logs every SMTP command at INFO; keep the console for our own lines.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    raise_file_limit()
    try:
        run(config)
    except OSError as exc:
        # Usually "address already in use": one line beats a traceback through asyncio.
        raise SystemExit(f"notify.sandbox: {exc}") from None


if __name__ == "__main__":
    main()
