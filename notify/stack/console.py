"""Prefixed, optionally colored output shared by the launcher and its children."""

from __future__ import annotations

import os
import sys
import threading
from typing import TextIO

# Same palette order as honcho, so neighbouring processes get clearly different colors.
_PALETTE = (36, 33, 32, 35, 34, 96, 93, 92, 95, 94)
LAUNCHER = "stack"


def use_color(out: TextIO) -> bool:
    """Color only real terminals; NO_COLOR / FORCE_COLOR follow the usual conventions."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


class Console:
    """Writes `name    | text` rows. Thread-safe: reader threads and the main loop share it."""

    def __init__(self, out: TextIO | None = None, *, width: int = 7, color: bool | None = None):
        self.out = out if out is not None else sys.stdout
        self.width = width
        self.color = use_color(self.out) if color is None else color
        self._codes: dict[str, int] = {}
        self._lock = threading.Lock()
        self._broken = False

    def line(self, name: str, text: str) -> None:
        prefix = f"{name:<{self.width}} |"
        if self.color:
            code = 1 if name == LAUNCHER else self._code(name)
            prefix = f"\033[{code}m{prefix}\033[0m"
        self.write(f"{prefix} {text}\n")

    def say(self, text: str) -> None:
        """A message from the launcher itself."""
        self.line(LAUNCHER, text)

    def write(self, text: str) -> None:
        with self._lock:
            if self._broken:
                return
            try:
                self.out.write(text)
                self.out.flush()
            except (BrokenPipeError, ValueError, OSError):
                # The reader went away (`make run | tee` and Ctrl-C kills tee first). Losing
                # output is fine; an exception here would abort the shutdown and leak children.
                self._broken = True

    def _code(self, name: str) -> int:
        if name not in self._codes:
            self._codes[name] = _PALETTE[len(self._codes) % len(_PALETTE)]
        return self._codes[name]
