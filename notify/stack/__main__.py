"""`python -m notify.stack <command>`; see notify/stack/__init__.py."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from notify.stack import commands


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    # SystemExit unwinds through the `with running(...)` blocks, so embedded servers are
    # stopped on SIGTERM/SIGHUP too; the default action would kill us and leave them behind.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notify.stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="resolve services, prepare Django, run the whole stack")
    sub.add_parser("env", help="print `export DATABASE_URL=... REDIS_URL=...` lines")
    test = sub.add_parser("test", help="ruff, mypy, then pytest (extra args after --)")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    sub.add_parser("services", help="keep embedded Postgres/Redis up until Ctrl-C")
    sub.add_parser("stop", help="stop embedded servers left running under .data/")
    args = parser.parse_args(argv)

    # Explicitly, because a shell starts `cmd &` jobs with SIGINT ignored and Python keeps an
    # inherited SIG_IGN: `kill -INT` would then leave embedded servers running forever.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    if signal.getsignal(signal.SIGHUP) != signal.SIG_IGN:  # under nohup, stay up
        signal.signal(signal.SIGHUP, _exit_on_signal)
    try:
        if args.command == "run":
            return commands.run()
        if args.command == "env":
            return commands.env_exports()
        if args.command == "test":
            extra = list(args.pytest_args)
            return commands.test(extra[1:] if extra[:1] == ["--"] else extra)
        if args.command == "services":
            return commands.services_forever()
        return commands.stop()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
