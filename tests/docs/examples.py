"""The docs' examples, read out of the Markdown and run as a reader would run them: fenced
blocks and inline `METHOD /path` `{json}` pairs in page order, shell lines split as a shell
splits them, curl run for real, and the answers the docs show in `# {...}` comments compared
with what came back. Nothing here knows what a page says; the tests that use it do."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
ELLIPSIS = "…"
FENCE = re.compile(r"^(\s*)(```+)(\S*)\s*$")
# `PUT /api/v1/recipients/{id}/` and `{"timezone": ...}`: a request the prose spells out.
INLINE = re.compile(r"`(GET|POST|PUT|DELETE) (/[^`\s]+)`(?:\s+(?:and|with))?\s+`(\{[^`]*\})`", re.S)
ASSIGN_FROM_FILE = re.compile(r"^(\w+)=\$\(cat ([^)\s]+)\)$")
VARIABLE = re.compile(r"\$\{?(\w+)\}?")


@dataclass(frozen=True)
class Block:
    """One fenced code block: `line` is the opening fence's, `key` its first non-blank line
    (how the tests name it, so an edited example is a new, unclassified one)."""

    path: str
    line: int
    lang: str
    text: str

    @property
    def key(self) -> str:
        return next(line.strip() for line in self.text.splitlines() if line.strip())


@dataclass(frozen=True)
class Inline:
    """A request written in the prose: method, path and a JSON body that parses."""

    path: str
    line: int
    method: str
    url_path: str
    body: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.method} {self.url_path}"


def fenced_blocks(page: Path) -> list[Block]:
    lines = page.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:  # every fence met here opens a block: closers are skipped below
            i += 1
            continue
        indent, fence = opening.group(1), opening.group(2)
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == fence)
        body = [line.removeprefix(indent) for line in lines[i + 1 : end]]
        blocks.append(Block(_name(page), i + 1, opening.group(3), "\n".join(body)))
        i = end + 1
    return blocks


def inline_requests(page: Path) -> list[Inline]:
    text = page.read_text()
    prose = FENCE_BLOCKS.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    found = []
    for match in INLINE.finditer(prose):
        try:
            body = json.loads(match.group(3))
        except json.JSONDecodeError:
            continue  # a shape (`{"reason"}`), not a body anyone could send
        line = prose.count("\n", 0, match.start()) + 1
        found.append(Inline(_name(page), line, match.group(1), match.group(2), body))
    return found


FENCE_BLOCKS = re.compile(r"^\s*```.*?^\s*```[ \t]*$", re.S | re.M)


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else str(page)


@dataclass
class Command:
    source: str
    argv: list[str]
    answer: str = ""  # the `# …` lines right after it: what the docs say it answers


def shell_commands(text: str) -> list[Command]:
    """Split a shell block into commands the way sh does: backslash-newline continues a line,
    a quote spans lines, `#` starts a comment. Comment lines right after a command are its
    documented answer."""
    commands: list[Command] = []
    pending = ""
    for line in text.splitlines():
        if not pending and line.lstrip().startswith("#"):
            if commands:
                commands[-1].answer += line.lstrip()[1:].strip() + "\n"
            continue
        if not pending and not line.strip():
            continue
        pending += line + "\n"
        joined = pending.replace("\\\n", " ")
        if pending.rstrip("\n").endswith("\\"):
            continue
        try:
            argv = shlex.split(joined, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        commands.append(Command(joined.strip(), argv))
        pending = ""
    assert not pending, f"unterminated shell command: {pending!r}"
    return commands


@dataclass
class Answer:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Shell:
    """Runs a block's commands in `cwd` after swapping the docs' placeholders (hosts, ids) for
    the test stack's. Knows `NAME=$(cat FILE)`, `$NAME` and curl; anything else fails."""

    cwd: Path
    replacements: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)

    def substitute(self, text: str) -> str:
        for placeholder, value in self.replacements.items():
            text = text.replace(placeholder, value)
        return text

    def run_block(self, block: Block) -> list[tuple[Command, Answer | None]]:
        return [(c, self.run(c)) for c in shell_commands(self.substitute(block.text))]

    def run(self, command: Command) -> Answer | None:
        assignment = ASSIGN_FROM_FILE.match(command.source)
        if assignment:
            value = (self.cwd / assignment.group(2)).read_text().strip()
            self.variables[assignment.group(1)] = value
            return None
        argv = [VARIABLE.sub(lambda m: self.variables[m.group(1)], arg) for arg in command.argv]
        assert argv[0] == "curl", f"the runner knows no {argv[0]!r}: {command.source}"
        return curl(argv, self.cwd)


def curl(argv: list[str], cwd: Path) -> Answer:
    """curl itself when the machine has it; otherwise the same flags, read by `requests`."""
    if shutil.which("curl"):
        done = subprocess.run(
            [*argv, "--write-out", "\n%{http_code}", "--max-time", "30"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=40,
            check=False,
        )
        assert done.returncode == 0, f"{argv}: exit {done.returncode}: {done.stderr}"
        body, _, status = done.stdout.rpartition("\n")
        return Answer(int(status), body)
    return curl_in_python(argv, cwd)


def curl_in_python(argv: list[str], cwd: Path) -> Answer:
    """The curl flags the docs use, as curl reads them; an unknown flag fails loudly."""
    method, url, headers, data = "", "", {"Accept": "*/*"}, None
    args = iter(argv[1:])
    for arg in args:
        if arg in {"-X", "--request"}:
            method = next(args)
        elif arg in {"-H", "--header"}:
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg in {"-d", "--data", "--data-raw", "--data-binary"}:
            value = next(args)
            if value.startswith("@") and arg != "--data-raw":
                raw = (cwd / value[1:]).read_bytes()
                data = (
                    raw if arg == "--data-binary" else raw.replace(b"\r", b"").replace(b"\n", b"")
                )
            else:
                data = value.encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif arg in {"-s", "-S", "-sS", "--silent", "--show-error"}:
            continue
        elif arg.startswith("-"):
            raise AssertionError(f"curl flag {arg!r} is not known to curl_in_python")
        else:
            url = arg if "://" in arg else f"http://{arg}"
    method = method or ("POST" if data is not None else "GET")
    response = requests.request(method, url, headers=headers, data=data, timeout=30)
    return Answer(response.status_code, response.text)


def answer_shape(comment: str) -> Any:
    """The JSON a `# {...}` comment shows, with its elisions made explicit: `"…"` is any value,
    `[...]` any list, a trailing `, …` more keys, and "whsec_…" any string so shaped."""
    text = comment.replace("[...]", json.dumps(ELLIPSIS))
    text = re.sub(r",\s*…\s*}", ', "…": "…"}', text)
    return json.loads(text)


def mismatches(
    expected: Any, actual: Any, *, loose: frozenset[str] = frozenset(), at: str = ""
) -> list[str]:
    """Where `actual` differs from the documented `expected`. Keys named in `loose` are
    illustrative figures (a count the reader's own data decides): only their type counts."""
    where = at or "answer"
    if isinstance(expected, str) and ELLIPSIS in expected:
        pattern = ".*".join(re.escape(part) for part in expected.split(ELLIPSIS))
        ok = isinstance(actual, str) and re.fullmatch(pattern, actual, re.S) is not None
        return [] if expected == ELLIPSIS or ok else [f"{where}: {actual!r} is not {expected!r}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: {actual!r} is not an object"]
        open_ended = expected.get(ELLIPSIS) == ELLIPSIS
        wanted = {k: v for k, v in expected.items() if k != ELLIPSIS}
        problems = [f"{where}: no {k!r}" for k in wanted if k not in actual]
        if not open_ended:
            problems += [f"{where}: undocumented {k!r}" for k in actual if k not in wanted]
        for key, value in wanted.items():
            if key in actual:
                sub = f"{where}.{key}"
                if key in loose:
                    if type(actual[key]) is not type(value):
                        problems.append(f"{sub}: {actual[key]!r} is not a {type(value).__name__}")
                else:
                    problems += mismatches(value, actual[key], loose=loose, at=sub)
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: {actual!r} is not like {expected!r}"]
        return [
            p
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for p in mismatches(e, a, loose=loose, at=f"{where}[{i}]")
        ]
    return [] if expected == actual else [f"{where}: {actual!r} is not {expected!r}"]


def json_keys(shape_text: str) -> set[str]:
    """Every object key a JSON-like shape names (`"provider": "smtp" | "fcm"` is no JSON)."""
    return set(re.findall(r'"(\w+)"\s*:', shape_text))


def field_names(body: Any) -> set[str]:
    """Keys at every level of a request body, except inside `data` (the caller's own)."""
    if isinstance(body, list):
        return {name for item in body for name in field_names(item)}
    if not isinstance(body, dict):
        return set()
    return set(body) | {n for k, v in body.items() if k != "data" for n in field_names(v)}


def schema_fields(schema: dict[str, Any], component: str) -> set[str]:
    """Every property name an OpenAPI component accepts, through its nested components."""
    seen: set[str] = set()
    todo = [component]
    while todo:
        for key, prop in schema["components"]["schemas"][todo.pop()].get("properties", {}).items():
            seen.add(key)
            refs = set(re.findall(r'"#/components/schemas/(\w+)"', json.dumps(prop)))
            todo += [r for r in refs if r not in seen]
            seen |= refs
    return seen
