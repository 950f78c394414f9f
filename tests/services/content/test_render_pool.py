"""A render pool (a broadcast's render budget): every render inside it is charged the time it
took, and none may run past what is left of it."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from notify.services.content.render_limits import RenderPool, render_pool
from notify.services.content.rendering import RenderLimitError, content_render

ENDLESS = (
    "{% for a in l %}{% for b in l %}{% for c in l %}{% for d in l %}{{ d }}"
    "{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
)
CONTEXT = {"l": list(range(100))}


def test_each_render_is_charged_to_the_pool() -> None:
    pool = RenderPool(limit=60, spent=1.5)

    with render_pool(pool):
        content_render(content={"sms": {"text": "Hi {{ name }}"}}, context={"name": "Ada"})
        after_one = pool.spent
        content_render(content={"sms": {"text": "plain"}}, context={})

    assert 1.5 < after_one < pool.spent < 2.5
    # Outside the block nothing is charged.
    content_render(content={"sms": {"text": "Hi {{ name }}"}}, context={"name": "Ada"})
    assert pool.left == 60 - pool.spent


@override_settings(
    NOTIFY_RENDER_MAX_SECONDS=60,
    NOTIFY_RENDER_MAX_LOOP_ITERATIONS=10**9,
    NOTIFY_RENDER_MAX_OUTPUT_CHARS=10**9,
)
def test_a_render_stops_when_the_pool_runs_out_and_names_its_setting() -> None:
    pool = RenderPool(limit=10, spent=9.8)
    began = time.monotonic()

    with render_pool(pool), pytest.raises(RenderLimitError) as caught:
        content_render(content={"sms": {"text": ENDLESS}}, context=CONTEXT)

    assert time.monotonic() - began < 5  # the pool's 0.2 s, not the message's 60
    assert pool.left <= 0
    assert caught.value.errors == {
        "sms.text": [
            "Rendering stopped: the broadcast's messages together took more than 10 s to "
            "render (NOTIFY_RENDER_MAX_BROADCAST_SECONDS)."
        ]
    }


def test_a_spent_pool_stops_even_a_plain_text_render() -> None:
    with render_pool(RenderPool(limit=1, spent=1)), pytest.raises(RenderLimitError):
        content_render(content={"sms": {"text": "plain"}}, context={})
