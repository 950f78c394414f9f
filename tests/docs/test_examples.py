"""The docs-example reader itself: shell splitting, the answer comparison, and the curl
stand-in used where a machine has no curl, which must send what curl sends."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.docs.examples import (
    answer_shape,
    curl,
    curl_in_python,
    fenced_blocks,
    mismatches,
    shell_commands,
)
from tests.docs.receiver import Receiver

BLOCK = """KEY=$(cat .data/key)
curl -X POST http://h/x -H "A: $KEY" \\
  -d '{"a": 1,
       "b": 2}'   # trailing comment
# {"ok": true,
#  "n": 3}
curl http://h/y
"""


def test_shell_commands_split_as_sh_does_and_keep_the_documented_answer() -> None:
    first, second, third = shell_commands(BLOCK)
    assert first.source == "KEY=$(cat .data/key)"
    assert second.argv == [
        "curl", "-X", "POST", "http://h/x", "-H", "A: $KEY", "-d", '{"a": 1,\n       "b": 2}',
    ]  # fmt: skip
    assert answer_shape(second.answer) == {"ok": True, "n": 3}
    assert (third.argv, third.answer) == (["curl", "http://h/y"], "")


def test_fenced_blocks_keep_their_line_and_drop_list_indentation(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# T\n\n```sh\necho 1\n```\n\n- item\n\n    ```\n    a/b\n    ```\n")
    one, two = fenced_blocks(page)
    assert (one.line, one.lang, one.text) == (3, "sh", "echo 1")
    assert (two.line, two.lang, two.text, two.key) == (9, "", "a/b", "a/b")


def test_elided_answers_match_any_value_and_open_objects_allow_more_keys() -> None:
    shape = answer_shape('{"id": "…", "events": [...], "secret": "whsec_…", …}')
    good = {"id": "e1", "events": ["sent"], "secret": "whsec_ab", "extra": 1}
    assert mismatches(shape, good) == []
    assert mismatches(shape, {**good, "secret": "ab"}) == ["answer.secret: 'ab' is not 'whsec_…'"]
    closed = answer_shape('{"replay_id": "…", "count": 137}')
    assert mismatches(closed, {"replay_id": "r", "count": 1}) == ["answer.count: 1 is not 137"]
    assert mismatches(closed, {"replay_id": "r", "count": 1}, loose=frozenset({"count"})) == []
    assert mismatches(closed, {"replay_id": "r", "count": 1, "x": 0}, loose=frozenset({"count"}))


@pytest.mark.parametrize(
    "flags",
    [
        ["-X", "POST", "-H", "Content-Type: application/json", "-d", '{"a":\n 1}'],
        ["-d", "k=v"],  # no Content-Type: curl's form default
        ["-sS", "-X", "POST", "-H", "Content-Type: text/csv", "--data-binary", "@people.csv"],
    ],
)
def test_the_python_stand_in_sends_what_curl_sends(flags: list[str], tmp_path: Path) -> None:
    if not shutil.which("curl"):
        pytest.skip("no curl on this machine to compare with")
    (tmp_path / "people.csv").write_text("id,email\r\n42,a@example.com\n")
    receiver = Receiver()
    try:
        argv = ["curl", *flags, receiver.url.removeprefix("http://") + "/p?q=1"]
        answers = [curl(argv, tmp_path), curl_in_python(argv, tmp_path)]
        by_curl, by_python = receiver.requests
    finally:
        receiver.close()
    assert [a.status for a in answers] == [200, 200]
    assert (by_python.path, by_python.body) == (by_curl.path, by_curl.body)
    for header in ("Content-Type", "Content-Length", "Accept"):
        assert by_python.headers.get(header) == by_curl.headers.get(header), header
