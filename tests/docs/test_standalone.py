"""The repository stands alone: a clone has no sibling directories, so no doc or comment may
send a reader to one, and every docs page named anywhere must exist."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve()
TEXT = {".py", ".md", ".txt", ".toml", ".yml", ".yaml", ".html", ".cfg", ".ini", ".sh", ".json"}
NAMED = {"Makefile", "Dockerfile", ".env.example"}
# Built, ignored or third-party trees: not ours to read.
SKIP = {".git", ".venv", ".data", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}

# Built in two pieces so that this check does not itself show up in a grep for the path.
OUTSIDE = re.compile(r"(\.\./)+shared/|\bshared/" r"reference\b")
DOCS_PAGE = re.compile(r"\bdocs/[\w./-]+?\.md\b")
MD_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def _files() -> list[Path]:
    found = []
    for folder, dirs, names in os.walk(ROOT):
        # Benchmark results are generated output, not prose anyone maintains.
        dirs[:] = [d for d in dirs if d not in SKIP and d != "results"]
        for name in names:
            path = Path(folder) / name
            if (path.suffix in TEXT or name in NAMED) and path != THIS:
                found.append(path)
    return found


def _lines(pattern: re.Pattern[str]) -> list[tuple[str, int, str]]:
    hits = []
    for path in _files():
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in pattern.finditer(line):
                hits.append((str(path.relative_to(ROOT)), number, match.group(0)))
    return hits


def test_nothing_points_outside_the_repository() -> None:
    assert len(_files()) > 100  # the walk really covers the repository
    assert _lines(OUTSIDE) == []


def test_every_docs_page_named_in_code_or_docs_exists() -> None:
    named = _lines(DOCS_PAGE)

    assert any(hit[2] == "docs/operations.md" for hit in named)
    missing = [hit for hit in named if not (ROOT / hit[2]).is_file()]
    assert missing == []


def test_relative_links_in_markdown_resolve_inside_the_repository() -> None:
    broken = []
    for path in _files():
        if path.suffix != ".md":
            continue
        for target in MD_LINK.findall(path.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("/"):
                continue  # a URL or a path on the running service, not a file
            resolved = (path.parent / target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append((str(path.relative_to(ROOT)), target))
    assert broken == []
