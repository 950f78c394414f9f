"""The render budget, through content_render: loops, widths, output and time are bounded
inside Django's renderer, and a budget error is never mistaken for (or hidden as) an
ordinary template error."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.test import override_settings

from notify.services.content.rendering import (
    RenderError,
    RenderLimitError,
    content_render,
    template_check_syntax,
)

FOUR_LOOPS = (
    "{% for a in l %}{% for b in l %}{% for c in l %}{% for d in l %}{{ d }}"
    "{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
)
HUNDRED: dict[str, Any] = {"l": list(range(100))}
# The loop cap, not the clock, must be what stops these renders on a slow machine.
loops_not_time = override_settings(NOTIFY_RENDER_MAX_SECONDS=60)


def _limit_error(text: str, context: dict[str, Any]) -> list[str]:
    with pytest.raises(RenderLimitError) as caught:
        content_render(content={"sms": {"text": text}}, context=context)
    assert list(caught.value.errors) == ["sms.text"]
    return caught.value.errors["sms.text"]


@loops_not_time
def test_four_nested_loops_over_100_items_stop_at_the_loop_cap() -> None:
    [message] = _limit_error(FOUR_LOOPS, HUNDRED)

    assert "more than 10000 loop iterations" in message
    assert "NOTIFY_RENDER_MAX_LOOP_ITERATIONS" in message


@loops_not_time
def test_loops_with_empty_bodies_still_count() -> None:
    text = "{% for a in l %}{% for b in l %}{% for c in l %}{% endfor %}{% endfor %}{% endfor %}"

    [message] = _limit_error(text, HUNDRED)

    assert "NOTIFY_RENDER_MAX_LOOP_ITERATIONS" in message


@override_settings(NOTIFY_RENDER_MAX_LOOP_ITERATIONS=250)
def test_the_loop_cap_is_shared_by_every_part_of_the_message() -> None:
    loop = "{% for x in l %}{{ x }}{% endfor %}"
    content = {"email": {"subject": "s", "text": loop, "html": loop}}

    assert content_render(content=content, context={"l": list(range(125))})["email"]["text"]
    with pytest.raises(RenderLimitError) as caught:
        content_render(content=content, context={"l": list(range(126))})
    assert list(caught.value.errors) == ["email.html"]


def test_a_loop_within_the_budget_renders() -> None:
    rendered = content_render(
        content={"sms": {"text": "{% for x in l %}{{ x }},{% endfor %}"}}, context=HUNDRED
    )

    assert rendered["sms"]["text"] == ",".join(str(i) for i in range(100)) + ","


@pytest.mark.parametrize(
    "text",
    [
        "{{ x|ljust:'500000000' }}",
        "{{ x|rjust:'500000000' }}",
        "{{ x|center:'500000000' }}",
        "{{ x|stringformat:'500000000s' }}",
        "{{ x|stringformat:'.500000000f' }}",
        "{{ x|ljust:'99999999999999999999999999' }}",
        # Django treats an exception in an {% if %} condition as false: not this one.
        "{% if x|ljust:'500000000' == 'x' %}yes{% endif %}",
        "{% filter ljust:'500000000' %}x{% endfilter %}",
    ],
)
def test_a_padding_width_past_the_output_limit_is_refused_before_padding(text: str) -> None:
    [message] = _limit_error(text, {"x": 1})

    assert "width" in message and "NOTIFY_RENDER_MAX_OUTPUT_CHARS" in message


def test_a_padding_width_within_the_limit_pads() -> None:
    rendered = content_render(content={"sms": {"text": "[{{ x|ljust:'5' }}]"}}, context={"x": "a"})

    assert rendered["sms"]["text"] == "[a    ]"


def test_doubling_a_value_until_it_is_huge_stops_at_the_output_limit() -> None:
    text = (
        "{% with a=x|ljust:'300000' %}{% with b=a|add:a %}{{ b|length }}{% endwith %}{% endwith %}"
    )

    [message] = _limit_error(text, {"x": "a"})

    assert "add: output longer than 500000 characters" in message


def test_a_join_with_a_huge_separator_is_refused() -> None:
    text = "{% with sep=x|ljust:'100000' %}{{ l|join:sep }}{% endwith %}"

    [message] = _limit_error(text, {"x": "-", "l": ["a"] * 10})

    assert message.startswith("Rendering stopped: join:")


@override_settings(NOTIFY_RENDER_MAX_OUTPUT_CHARS=1000)
def test_output_is_counted_across_all_parts() -> None:
    content = {"email": {"subject": "s", "text": "{{ v }}", "html": "{{ v }}"}}

    ok = content_render(content=content, context={"v": "x" * 490})
    assert ok["email"]["text"] == "x" * 490
    with pytest.raises(RenderLimitError) as caught:
        content_render(content=content, context={"v": "x" * 510})
    assert caught.value.errors == {
        "email.html": [
            "Rendering stopped: output longer than 1000 characters "
            "(NOTIFY_RENDER_MAX_OUTPUT_CHARS)."
        ]
    }


@override_settings(NOTIFY_RENDER_MAX_OUTPUT_CHARS=1000, NOTIFY_RENDER_MAX_SECONDS=60)
def test_output_inside_a_loop_is_counted_as_it_is_produced() -> None:
    [message] = _limit_error("{% for x in l %}{{ v }}{% endfor %}", {"l": [1] * 100, "v": "x" * 50})

    assert "output longer than 1000 characters" in message


@override_settings(NOTIFY_RENDER_MAX_SECONDS=0)
def test_a_render_past_its_deadline_stops() -> None:
    [message] = _limit_error("{% for x in l %}{{ x }}{% endfor %}", HUNDRED)

    assert "took more than 0 s (NOTIFY_RENDER_MAX_SECONDS)" in message


def test_a_missing_variable_is_still_an_ordinary_render_error() -> None:
    with pytest.raises(RenderError) as caught:
        content_render(content={"sms": {"text": "{{ nope }}"}}, context={})

    assert not isinstance(caught.value, RenderLimitError)


@pytest.fixture
def soft_time_limit_soon() -> Iterator[None]:
    """What Celery's pool does when a task's soft time limit passes: a signal whose handler
    raises SoftTimeLimitExceeded wherever the task happens to be."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


@override_settings(NOTIFY_RENDER_MAX_SECONDS=60, NOTIFY_RENDER_MAX_LOOP_ITERATIONS=10**9)
def test_a_soft_time_limit_during_a_render_is_never_swallowed(soft_time_limit_soon: None) -> None:
    with pytest.raises(SoftTimeLimitExceeded):
        content_render(content={"sms": {"text": FOUR_LOOPS}}, context=HUNDRED)


@pytest.mark.parametrize(("tag", "name"), [("{% debug %}", "debug"), ("{% lorem 9 w %}", "lorem")])
def test_debug_and_lorem_are_not_allowed(tag: str, name: str) -> None:
    errors = template_check_syntax(content={"sms": {"text": tag}})

    assert errors == {"sms.text": [f"Template syntax: {name} is not allowed"]}


def test_blocks_nested_past_the_stack_are_a_syntax_error() -> None:
    text = "{% if 1 %}" * 5000 + "x" + "{% endif %}" * 5000

    errors = template_check_syntax(content={"sms": {"text": text}})

    assert errors == {"sms.text": ["Template syntax: blocks are nested too deeply"]}


@override_settings(NOTIFY_RENDER_MAX_OUTPUT_CHARS=1000)
def test_plain_text_parts_pay_for_their_output_like_rendered_ones() -> None:
    # Text without "{" skips the template engine; it still counts towards the budget.
    content = {"email": {"subject": "s", "text": "x" * 490, "html": "{{ v }}"}}

    assert content_render(content=content, context={"v": "y" * 509})["email"]["html"] == "y" * 509
    with pytest.raises(RenderLimitError) as caught:
        content_render(content=content, context={"v": "y" * 510})
    assert list(caught.value.errors) == ["email.html"]
    with pytest.raises(RenderLimitError) as caught:
        content_render(content={"sms": {"text": "x" * 1001}}, context={})
    assert list(caught.value.errors) == ["sms.text"]
