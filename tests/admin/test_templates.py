"""Templates: saving goes through template_save (syntax errors are form errors, versions
bump), the change page previews each part with sample data and lists the versions, and an
old version can be restored as a new one."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import Permission
from django.test import Client

from notify.models import Template
from notify.services.content.templates import template_save

URL = "/admin/notify/template/"
CONTENT = {
    "email": {"subject": "Hi {{ name }}", "text": "Your code is {{ code }}."},
    "sms": {"text": "Code {{ code }} for {{ name }}"},
}


def _add(client: Client, content: Any, **fields: str) -> Any:
    data = {
        "tenant": "default",
        "key": "login-code",
        "locale": "",
        "description": "",
        "content": json.dumps(content),
        "_save": "Save",
        **fields,
    }
    return client.post(f"{URL}add/", data)


def test_a_template_with_a_syntax_error_shows_a_form_error_and_stores_nothing(
    admin_client: Client, db: Any
) -> None:
    response = _add(admin_client, {"sms": {"text": "Code {% if code %}{{ code }}"}})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["content"]
    assert len(errors) == 1 and errors[0].startswith("sms.text: Template syntax:")
    assert "Template syntax" in response.content.decode()
    assert not Template.objects.exists()


def test_content_of_the_wrong_shape_is_refused(admin_client: Client, db: Any) -> None:
    unknown = _add(admin_client, {"fax": {"text": "hi"}})
    not_an_object = _add(admin_client, {"sms": "hi"})
    no_subject = _add(admin_client, {"email": {"text": "hi"}})
    not_json = admin_client.post(
        f"{URL}add/", {"tenant": "default", "key": "k", "content": "{oops"}
    )

    assert unknown.context["adminform"].form.errors["content"] == ["Unknown channel 'fax'."]
    assert no_subject.context["adminform"].form.errors["content"] == [
        "email.subject: This field is required."
    ]
    assert not_an_object.context["adminform"].form.errors["content"] == [
        "sms: Invalid data. Expected a dictionary, but got str."
    ]
    assert "content" in not_json.context["adminform"].form.errors
    assert not Template.objects.exists()


def test_saving_goes_through_the_service_and_bumps_the_version(
    admin_client: Client, db: Any
) -> None:
    created = _add(admin_client, CONTENT, locale="fr", description="Login code")
    template = Template.objects.get()
    assert created.status_code == 302
    assert (template.key, template.locale, template.version) == ("login-code", "fr", 1)

    edited = admin_client.post(
        f"{URL}{template.pk}/change/",
        {
            "description": "Login code v2",
            "_save": "Save",
            "content": json.dumps({"sms": {"text": "Code: {{ code }}"}}),
        },
    )

    assert edited.status_code == 302
    template.refresh_from_db()
    assert (template.version, template.description) == (2, "Login code v2")
    assert template.content == {"sms": {"text": "Code: {{ code }}"}}
    assert Template.objects.count() == 1


def test_an_edit_with_a_syntax_error_keeps_the_saved_version(admin_client: Client, db: Any) -> None:
    template = template_save(tenant="default", key="k", locale="", content=CONTENT)

    response = admin_client.post(
        f"{URL}{template.pk}/change/",
        {
            "description": "",
            "content": json.dumps({"sms": {"text": "{{ code|nosuchfilter }}"}}),
            "_save": "Save",
        },
    )

    assert response.status_code == 200
    assert "Invalid filter" in response.context["adminform"].form.errors["content"][0]
    template.refresh_from_db()
    assert (template.version, template.content) == (1, CONTENT)


def test_the_preview_renders_each_part_with_sample_data_and_counts_sms_segments(
    admin_client: Client, db: Any
) -> None:
    template = template_save(tenant="default", key="k", locale="", content=CONTENT)

    response = admin_client.get(
        f"{URL}{template.pk}/change/",
        {"preview_data": json.dumps({"name": "Ada", "code": "123456"})},
    )

    page = response.content.decode()
    parts = {p.name: p for p in response.context["preview"].parts}
    assert parts["email.subject"].output == "Hi Ada"
    assert parts["email.text"].output == "Your code is 123456."
    assert parts["sms.text"].output == "Code 123456 for Ada"
    assert "<pre>Code 123456 for Ada</pre>" in page
    assert "SMS: 19 characters, GSM-7, 1 segment" in page


def test_the_preview_names_missing_variables_and_counts_ucs2_segments(
    admin_client: Client, db: Any
) -> None:
    long_text = "Ваш код {{ code }}. " * 4  # Cyrillic: UCS-2, 70 characters per segment
    template = template_save(
        tenant="default",
        key="k",
        locale="",
        content={"email": CONTENT["email"], "sms": {"text": long_text}},
    )

    without_data = admin_client.get(f"{URL}{template.pk}/change/")
    with_code = admin_client.get(f"{URL}{template.pk}/change/", {"preview_data": '{"code": "42"}'})

    parts = {p.name: p for p in without_data.context["preview"].parts}
    assert parts["email.subject"].errors == ["Missing template variable(s): name"]
    assert parts["sms.text"].errors == ["Missing template variable(s): code"]
    assert "Missing template variable(s): name" in without_data.content.decode()
    sms = {p.name: p for p in with_code.context["preview"].parts}["sms.text"]
    assert sms.output == ("Ваш код 42. " * 4).strip()
    assert "SMS: 47 characters, UCS-2, 1 segment" in with_code.content.decode()


def test_preview_data_that_is_not_a_json_object_is_reported(admin_client: Client, db: Any) -> None:
    template = template_save(tenant="default", key="k", locale="", content=CONTENT)

    response = admin_client.get(f"{URL}{template.pk}/change/", {"preview_data": "[1, 2"})

    assert "Sample data is not valid JSON" in response.content.decode()


def test_the_preview_shows_html_as_escaped_source_in_reading_order(
    admin_client: Client, db: Any
) -> None:
    content = {
        "sms": {"text": "Hi {{ name }}"},
        "email": {"subject": "Hi", "html": "<p onclick=x>Hi {{ name }}</p>", "text": "Hi"},
    }
    template = template_save(tenant="default", key="k", locale="", content=content)

    response = admin_client.get(f"{URL}{template.pk}/change/", {"preview_data": '{"name": "<b>"}'})

    page = response.content.decode()
    assert "<pre>&lt;p onclick=x&gt;Hi &amp;lt;b&amp;gt;&lt;/p&gt;</pre>" in page
    assert "<p onclick=x>" not in page
    assert [p.name for p in response.context["preview"].parts] == [
        "email.subject",
        "email.text",
        "email.html",
        "sms.text",
    ]


def test_deleting_a_template_from_the_list(admin_client: Client, db: Any) -> None:
    template = template_save(tenant="default", key="k", locale="", content=CONTENT)

    response = admin_client.post(
        URL,
        {"action": "delete_selected", "_selected_action": [str(template.pk)], "post": "yes"},
        follow=True,
    )

    assert response.status_code == 200
    assert not Template.objects.exists()


def test_the_change_page_lists_versions_newest_first_with_their_source(
    admin_client: Client, db: Any
) -> None:
    _add(admin_client, CONTENT, description="Login code")
    template = Template.objects.get()
    admin_client.post(
        f"{URL}{template.pk}/change/",
        {"description": "", "content": json.dumps({"sms": {"text": "New {{ code }}"}})},
    )

    response = admin_client.get(f"{URL}{template.pk}/change/")

    rows = response.context["versions"]
    assert [(r.version, r.current, r.created_by) for r in rows] == [
        (2, True, "admin"),
        (1, False, "admin"),
    ]
    page = response.content.decode()
    assert "2 (current)" in page and "Login code" in page
    assert "Code {{ code }} for {{ name }}" in page  # version 1's source, not rendered
    assert page.count("Restore as a new version") == 1  # not offered for the current one


def test_restoring_a_version_saves_its_content_as_a_new_version(
    admin_client: Client, db: Any
) -> None:
    template = template_save(tenant="default", key="k", locale="", content=CONTENT)
    template_save(tenant="default", key="k", locale="", content={"sms": {"text": "v2"}})
    restore = f"{URL}{template.pk}/versions/1/restore/"

    assert admin_client.get(restore).status_code == 405
    response = admin_client.post(restore, follow=True)

    template.refresh_from_db()
    assert (template.version, template.content) == (3, CONTENT)
    assert template.versions.get(version=3).created_by == "admin"
    assert "Version 1 restored as version 3." in response.content.decode()
    assert admin_client.post(f"{URL}{template.pk}/versions/9/restore/").status_code == 404


def test_a_view_only_user_sees_versions_but_cannot_restore(
    client: Client, django_user_model: Any, db: Any
) -> None:
    template = template_save(tenant="default", key="k", locale="", content=CONTENT)
    template_save(tenant="default", key="k", locale="", content={"sms": {"text": "v2"}})
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_template"))
    client.force_login(viewer)

    page = client.get(f"{URL}{template.pk}/change/")
    restore = client.post(f"{URL}{template.pk}/versions/1/restore/")

    assert page.status_code == 200
    assert [r.version for r in page.context["versions"]] == [2, 1]
    assert "Restore as a new version" not in page.content.decode()
    assert restore.status_code == 403
    template.refresh_from_db()
    assert template.version == 2
