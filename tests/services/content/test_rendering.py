"""content_render and template_resolve: Django templates at accept time."""

from __future__ import annotations

from typing import Any

import pytest

from notify.models import Template
from notify.services.content.rendering import RenderError, content_render, template_resolve


def test_it_renders_every_part_of_every_channel() -> None:
    rendered = content_render(
        content={
            "email": {
                "subject": "Hi {{ name }}",
                "text": "Dear {{ name }},",
                "html": "<p>Dear {{ name }},</p>",
            },
            "sms": {"text": "{{ name }}: code {{ code }}"},
            "push": {"title": "Code", "body": "{{ code }}", "data": {"code": "{{ code }}"}},
        },
        context={"name": "Ada", "code": 123456},
    )

    assert rendered == {
        "email": {"subject": "Hi Ada", "text": "Dear Ada,", "html": "<p>Dear Ada,</p>"},
        "sms": {"text": "Ada: code 123456"},
        "push": {"title": "Code", "body": "123456", "data": {"code": "123456"}},
    }


def test_it_escapes_html_but_leaves_text_and_subject_raw() -> None:
    rendered = content_render(
        content={
            "email": {"subject": "{{ v }}", "text": "{{ v }}", "html": "<b>{{ v }}</b>"},
            "push": {"title": "{{ v }}"},
        },
        context={"v": "<script>&\"'"},
    )

    assert rendered["email"]["subject"] == "<script>&\"'"
    assert rendered["email"]["text"] == "<script>&\"'"
    assert rendered["email"]["html"] == "<b>&lt;script&gt;&amp;&quot;&#x27;</b>"
    assert rendered["push"]["title"] == "<script>&\"'"


def test_it_names_each_missing_variable_by_part() -> None:
    with pytest.raises(RenderError) as caught:
        content_render(
            content={
                "email": {
                    "subject": "Hi {{ first }}",
                    "text": "ok",
                    "html": "<p>{{ user.last }} {{ first }}</p>",
                },
                "sms": {"text": "{{ code }}"},
            },
            context={"user": {}},
        )

    errors = caught.value.errors
    assert set(errors) == {"email.subject", "email.html", "sms.text"}
    assert "first" in errors["email.subject"][0]
    assert "first" in errors["email.html"][0] and "user.last" in errors["email.html"][0]
    assert "code" in errors["sms.text"][0]


def test_an_if_block_keeps_a_variable_optional() -> None:
    rendered = content_render(
        content={"sms": {"text": "Hello{% if name %} {{ name }}{% endif %}!"}}, context={}
    )

    assert rendered == {"sms": {"text": "Hello!"}}


def test_a_default_filter_keeps_a_variable_optional() -> None:
    # content_render's docstring promises `{{ x|default:"…" }}` works like `{% if %}`.
    rendered = content_render(
        content={"sms": {"text": 'Hello {{ name|default:"friend" }}'}}, context={}
    )

    assert rendered == {"sms": {"text": "Hello friend"}}


def test_it_trims_text_parts_but_not_html_and_keeps_sms_in_gsm() -> None:
    rendered = content_render(
        content={
            "email": {"subject": "  S  ", "text": "\n  T \n", "html": "  <b>H</b>\n"},
            "sms": {"text": "a\xa0b"},
        },
        context={},
    )

    assert rendered["email"] == {"subject": "S", "text": "T", "html": "  <b>H</b>\n"}
    # A no-break space would switch the whole SMS to UCS-2.
    assert rendered["sms"]["text"] == "a b"


@pytest.fixture
def templates(db: Any) -> None:
    for tenant, locale, subject in [
        ("default", "", "Hello"),
        ("default", "fr", "Bonjour"),
        ("default", "pt-BR", "Olá"),
        ("other", "de", "Hallo"),
    ]:
        Template.objects.create(
            tenant=tenant,
            key="greet",
            locale=locale,
            content={"email": {"subject": subject, "text": subject}},
        )


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("", ""),
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("pt-BR", "pt-BR"),
        ("pt-PT", ""),
        ("de", ""),
        ("en-GB", ""),
    ],
)
def test_template_resolve_falls_back_from_region_to_language_to_default(
    templates: None, locale: str, expected: str
) -> None:
    template = template_resolve(tenant="default", key="greet", locale=locale)

    assert template is not None
    assert template.locale == expected


def test_template_resolve_finds_nothing_for_an_unknown_key_or_tenant(templates: None) -> None:
    assert template_resolve(tenant="default", key="nope", locale="fr") is None
    assert template_resolve(tenant="nobody", key="greet") is None
    # The other tenant has only a German variant and no default.
    assert template_resolve(tenant="other", key="greet", locale="fr") is None
    found = template_resolve(tenant="other", key="greet", locale="de-AT")
    assert found is not None and found.locale == "de"


@pytest.mark.parametrize(
    "source", ["plain", "  padded\n", "a\xa0b", "<b>&amp; < ></b>", "", "100% } off"]
)
def test_text_without_template_syntax_renders_as_the_engine_would(source: str) -> None:
    # Such text skips the engine: the same answer as a part that goes through it.
    content = {"email": {"subject": source, "html": source}, "sms": {"text": source}}
    through = {
        "email": {"subject": source + "{# #}", "html": source + "{# #}"},
        "sms": {"text": source + "{# #}"},
    }

    assert content_render(content=content, context={}) == content_render(
        content=through, context={}
    )
