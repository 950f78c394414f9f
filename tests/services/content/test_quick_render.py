"""quick_render gives what Django's own render gives, for the nodes it renders itself and
for those it leaves to Django, and spends the render budget the same way."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context
from django.test import override_settings

from notify.services.content.quick_render import quick_render
from notify.services.content.render_limits import RenderLimitExceeded, render_budget
from notify.services.content.rendering import _compile

DATA: dict[str, Any] = {
    "digest": {
        "count": 3,
        "items": [
            {
                "notification_id": "a",
                "created_at": "2026-01-01T09:00:00+00:00",
                "data": {
                    "title": "First <b>",
                    "n": 1234567,
                    "price": 3.5,
                    "ok": True,
                    "none": None,
                    "tags": ["x", "y"],
                    "nested": {"k": "v"},
                    "items": "a key named items",
                },
            },
            {"notification_id": "b", "created_at": "", "data": {"title": "Second & more"}},
            {"notification_id": "c", "created_at": "", "data": {}},
        ],
    },
    "recipient": {"id": "ada", "email": "ada@example.com", "locale": "fr"},
    "unsubscribe_url": "https://example.com/u?a=1&b=2",
    "title": "top",
    "empty": [],
    "seq": [[1, 2], [3, 4]],
}

TEMPLATES = [
    "plain text, no tags",
    "{{ digest.count }} updates for {{ recipient.id }}",
    "{% for item in digest.items %}- {{ item.data.title }}\n{% endfor %}",
    "{% for item in digest.items %}{{ forloop.counter }}/{{ forloop.revcounter0 }}"
    "{% if forloop.first %}F{% elif forloop.last %}L{% else %}M{% endif %}{% endfor %}",
    "{% for item in digest.items reversed %}{{ item.notification_id }}{% endfor %}",
    "{% for x in empty %}never{% empty %}none {{ title }}{% endfor %}",
    "{% for x in missing %}never{% empty %}no list{% endfor %}",
    "{% for a, b in seq %}{{ a }}+{{ b }};{% endfor %}",
    "{% for row in seq %}{% for v in row %}{{ forloop.parentloop.counter }}.{{ v }} "
    "{% endfor %}{% endfor %}",
    # Values that are not strings: localised numbers, booleans, None, lists, dicts.
    "{% for item in digest.items %}{{ item.data.n }} {{ item.data.price }} {{ item.data.ok }}"
    " {{ item.data.none }} {{ item.data.tags }} {{ item.data.nested }}|{% endfor %}",
    # Lookups that are not plain keys: a missing one, a list index, a dict method, a key
    # that shadows a method.
    "{{ nothing }}|{{ digest.nothing.deeper }}|{{ digest.items.0.notification_id }}|"
    "{{ digest.items.9 }}|{{ recipient.keys }}|{{ digest.items.0.data.items }}",
    "{% for item in digest.items %}{{ item.data.title|default:'untitled'|upper }}{% endfor %}",
    "{% with n=digest.count %}{{ n }} {{ recipient.email }}{% endwith %}",
    "{% if digest.count > 2 and recipient.locale == 'fr' %}beaucoup{% else %}peu{% endif %}",
    "{% if missing.value %}yes{% endif %}{% firstof missing title %}",
    "{% cycle 'a' 'b' as c silent %}{% for item in digest.items %}{% cycle 'x' 'y' %}{% endfor %}",
    "{% autoescape off %}{{ digest.items.0.data.title }}{% endautoescape %}",
    "{# a comment #}{% spaceless %} <p> {{ title }} </p> {% endspaceless %}",
    "{{ unsubscribe_url }} {{ 'literal' }} {{ 12 }}",
]


def _django(source: str, html: bool) -> str:
    with render_budget():
        return str(_compile(source, html).render(Context(dict(DATA), autoescape=html)))


def _quick(source: str, html: bool) -> str:
    with render_budget() as budget:
        return quick_render(_compile(source, html), Context(dict(DATA), autoescape=html), budget)


@pytest.mark.parametrize("html", [False, True])
@pytest.mark.parametrize("source", TEMPLATES)
def test_it_renders_what_django_renders(source: str, html: bool) -> None:
    assert _quick(source, html) == _django(source, html)
    assert _quick(source, html) == _django(source, html)  # and again, its steps kept


@pytest.mark.parametrize("source", TEMPLATES)
def test_it_spends_the_budget_as_django_does(source: str) -> None:
    with render_budget() as ours:
        quick_render(_compile(source, False), Context(dict(DATA)), ours)
    with render_budget() as theirs:
        _compile(source, False).render(Context(dict(DATA)))
    assert (ours.loops, ours.output) == (theirs.loops, theirs.output)


@override_settings(NOTIFY_RENDER_MAX_OUTPUT_CHARS=20)
def test_output_over_the_budget_stops_it_as_it_stops_django() -> None:
    source = "{% for item in digest.items %}{{ item.data.title }}{% endfor %}"
    with pytest.raises(RenderLimitExceeded) as quick:
        _quick(source, False)
    with pytest.raises(RenderLimitExceeded) as django:
        _django(source, False)
    assert str(quick.value) == str(django.value)


@override_settings(NOTIFY_RENDER_MAX_LOOP_ITERATIONS=2)
def test_loops_over_the_budget_stop_it_as_they_stop_django() -> None:
    source = "{% for item in digest.items %}.{% endfor %}"
    with pytest.raises(RenderLimitExceeded) as quick:
        _quick(source, False)
    with pytest.raises(RenderLimitExceeded) as django:
        _django(source, False)
    assert str(quick.value) == str(django.value)
