"""Where the time goes: py-spy records a running process (no change to it, sampling from
outside), and this module summarises the collapsed stacks it writes.

Only samples of threads holding the GIL are kept (`--gil`): in a process whose 32 send threads
mostly wait on sockets, those are the samples that cost CPU, and a GIL-bound process cannot
do more Python work than one core's worth however many threads it has."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")

# Coarse buckets for "what kind of work", first match wins (matched against the file path).
BUCKETS = [
    ("notify (our code)", ("notify/", "channels/", "bench/")),
    ("twilio SDK", ("twilio/",)),
    ("firebase/google SDK", ("firebase_admin/", "google/", "googleapiclient/")),
    ("email / smtplib", ("smtplib", "email/", "django/core/mail")),
    ("requests/urllib3/http", ("requests/", "urllib3/", "http/client", "socket.py", "ssl.py")),
    ("DRF", ("rest_framework/", "drf_spectacular/")),
    ("Django ORM / db", ("django/db/",)),
    ("psycopg2", ("psycopg2",)),
    ("Django (other)", ("django/",)),
    ("Celery/kombu/redis", ("celery/", "kombu/", "billiard/", "redis/", "vine/")),
    ("gunicorn", ("gunicorn/",)),
    ("json", ("json/",)),
    ("phonenumbers", ("phonenumbers/",)),
    ("threading/futures", ("threading.py", "concurrent/", "queue.py")),
    ("logging", ("logging/",)),
]


def record(
    pid: int, seconds: float, out: Path, *, rate: int = 100, gil: bool = True
) -> subprocess.Popen[bytes]:
    """Start `py-spy record` on pid (and its threads) for `seconds`; returns the process.
    gil=False keeps every non-idle thread's samples instead (py-spy's GIL detection came
    back empty for gunicorn's gthread workers in one run)."""
    spy = Path(sys.executable).parent / "py-spy"
    argv = [
        str(spy),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--output",
        str(out),
        "--nonblocking",
        *(["--gil"] if gil else []),
    ]
    return subprocess.Popen(  # noqa: S603 - fixed argv
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def parse(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    """[(frames root-first as (function, file), samples)]."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for frame in stack.split(";"):
            match = _FRAME.match(frame)
            frames.append((match["func"], match["file"]) if match else (frame, ""))
        stacks.append((frames, int(count)))
    return stacks


def bucket(file: str) -> str:
    for name, needles in BUCKETS:
        if any(needle in file for needle in needles):
            return name
    return "other (stdlib, C)"


def summarise(path: Path, top: int = 15) -> dict[str, Any]:
    stacks = parse(path)
    total = sum(count for _, count in stacks) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for frames, count in stacks:
        if not frames:
            continue
        func, file = frames[-1]
        own[f"{func} ({_short(file)})"] += count
        kinds[_leaf_bucket(frames)] += count
        for name in {f"{f} ({_short(p)})" for f, p in frames}:
            inclusive[name] += count

    def pct(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "by_kind_pct": pct(kinds),
        "self_pct": pct(own),
        "inclusive_pct": [item for item in pct(inclusive) if item[1] < 99.5][:top],
    }


def _leaf_bucket(frames: list[tuple[str, str]]) -> str:
    """The bucket of the innermost frame that is not plain stdlib plumbing: time spent in
    `socket.send` called from urllib3 counts as HTTP, json.dumps from DRF counts as JSON."""
    for _func, file in reversed(frames):
        name = bucket(file)
        if name != "other (stdlib, C)":
            return name
    return "other (stdlib, C)"


def _short(file: str) -> str:
    for marker in ("site-packages/", "python3.11/", "/work/main/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file
