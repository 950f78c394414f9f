"""/api/v1/templates/: create, replace (new version), locale variants, delete, scopes."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from notify.models import Notification, Template
from notify.services.access.apikeys import api_key_create

URL = "/api/v1/templates/"
WELCOME = {"email": {"subject": "Welcome {{ name }}", "text": "Hello {{ name }}"}}


def _create(
    api: APIClient, key: str = "welcome", content: dict[str, Any] | None = None, locale: str = ""
) -> Any:
    return api.post(
        URL, {"key": key, "locale": locale, "content": content or WELCOME}, format="json"
    )


def test_it_creates_a_template(api: APIClient) -> None:
    response = _create(api)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "key",
        "locale",
        "description",
        "content",
        "version",
        "created_at",
        "updated_at",
    }
    assert (body["key"], body["locale"], body["version"]) == ("welcome", "", 1)
    assert body["content"] == WELCOME
    assert Template.objects.get().content == WELCOME


def test_it_refuses_a_duplicate_key(api: APIClient) -> None:
    _create(api)

    response = _create(api, content={"sms": {"text": "other"}})

    assert response.status_code == 400
    assert "key" in response.json()["fields"]
    assert Template.objects.get().content == WELCOME


def test_the_same_key_in_another_locale_is_a_new_variant(api: APIClient) -> None:
    _create(api)

    response = _create(
        api, content={"email": {"subject": "Bienvenue", "text": "Salut"}}, locale="fr"
    )

    assert response.status_code == 201
    assert Template.objects.count() == 2


def test_put_replaces_the_content_and_bumps_the_version(api: APIClient) -> None:
    _create(api)
    new = {"email": {"subject": "Hi {{ name }}", "text": "Welcome aboard, {{ name }}"}}

    response = api.put(f"{URL}welcome/", {"content": new}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    assert response.json()["content"] == new
    assert api.get(f"{URL}welcome/").json()["content"] == new
    # A notification sent now uses (and records) the new version.
    sent = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "u", "email": "ada@example.com"},
            "template": "welcome",
            "data": {"name": "Ada"},
        },
        format="json",
    )
    assert sent.status_code == 202
    assert sent.json()["template_version"] == 2
    notification = Notification.objects.get(id=sent.json()["id"])
    assert notification.content["email"]["text"] == "Welcome aboard, Ada"


def test_it_rejects_a_template_syntax_error_with_a_content_field_error(api: APIClient) -> None:
    response = _create(api, content={"email": {"subject": "Hi", "text": "{% if %}x{% endif %}"}})

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert any(field.startswith("content.") for field in fields), fields
    assert "content.email.text" in fields
    assert Template.objects.count() == 0


def test_a_syntax_error_in_a_put_keeps_the_old_version(api: APIClient) -> None:
    _create(api)

    response = api.put(
        f"{URL}welcome/", {"content": {"sms": {"text": "{{ x|nosuchfilter }}"}}}, format="json"
    )

    assert response.status_code == 400
    assert "content.sms.text" in response.json()["fields"]
    template = Template.objects.get()
    assert (template.version, template.content) == (1, WELCOME)


def test_a_template_the_api_accepts_can_be_sent(api: APIClient) -> None:
    # {% include %} compiles, so the template is accepted, but this service has no template
    # files: rendering it raised TemplateDoesNotExist and every send answered 500.
    created = _create(
        api,
        key="include",
        content={"email": {"subject": "x", "text": "{% include 'footer.html' %}"}},
    )
    api.raise_request_exception = False

    sent = api.post(
        "/api/v1/notifications/",
        {"recipient": {"id": "u", "email": "ada@example.com"}, "template": "include"},
        format="json",
    )

    # Either refused when saved, or refused (400) when used; never a server error.
    assert created.status_code == 400 or sent.status_code == 400, (
        created.status_code,
        sent.status_code,
    )
    assert Notification.objects.count() == 0


def test_get_picks_the_locale_variant(api: APIClient) -> None:
    _create(api)
    french = {"email": {"subject": "Bienvenue", "text": "Salut"}}
    _create(api, content=french, locale="fr")

    default = api.get(f"{URL}welcome/")
    fr = api.get(f"{URL}welcome/?locale=fr")

    assert (default.status_code, fr.status_code) == (200, 200)
    assert default.json()["content"] == WELCOME
    assert (fr.json()["locale"], fr.json()["content"]) == ("fr", french)
    assert api.get(f"{URL}welcome/?locale=de").status_code == 404
    listed = api.get(URL).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(t["key"], t["locale"]) for t in rows] == [("welcome", ""), ("welcome", "fr")]


def test_delete_removes_only_the_named_variant(api: APIClient) -> None:
    _create(api)
    _create(api, content={"email": {"subject": "Bienvenue", "text": "Salut"}}, locale="fr")

    response = api.delete(f"{URL}welcome/?locale=fr")

    assert response.status_code == 204
    assert list(Template.objects.values_list("locale", flat=True)) == [""]
    assert api.get(f"{URL}welcome/?locale=fr").status_code == 404
    assert api.delete(f"{URL}welcome/?locale=fr").status_code == 404
    assert api.delete(f"{URL}welcome/").status_code == 204
    assert Template.objects.count() == 0


def test_a_read_only_key_cannot_write_templates(api: APIClient) -> None:
    _create(api)
    _, raw = api_key_create(name="reader", scopes=["read"])
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert _create(reader, key="other").status_code == 403
    assert (
        reader.put(f"{URL}welcome/", {"content": {"sms": {"text": "x"}}}, format="json").status_code
        == 403
    )
    assert reader.delete(f"{URL}welcome/").status_code == 403
    assert reader.get(f"{URL}welcome/").status_code == 200
    assert list(Template.objects.values_list("key", "version")) == [("welcome", 1)]


def test_templates_are_private_to_their_tenant(api: APIClient) -> None:
    _create(api)
    _, raw = api_key_create(name="other", tenant="other")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert other.get(f"{URL}welcome/").status_code == 404
    sent = other.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "u", "email": "ada@example.com"},
            "template": "welcome",
            "data": {"name": "x"},
        },
        format="json",
    )
    assert sent.status_code == 400
    assert "template" in sent.json()["fields"]


def _rows(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def test_versions_list_every_version_newest_first_with_its_source(api: APIClient) -> None:
    _create(api)
    new = {"sms": {"text": "Hi {{ name }}"}}
    api.put(f"{URL}welcome/", {"content": new, "description": "SMS only"}, format="json")

    rows = _rows(api.get(f"{URL}welcome/versions/"))

    assert [(r["version"], r["content"], r["description"]) for r in rows] == [
        (2, new, "SMS only"),
        (1, WELCOME, ""),
    ]
    assert {r["created_by"] for r in rows} == {"tests"}  # the API key's name
    assert set(rows[0]) == {"version", "description", "content", "created_by", "created_at"}


def test_a_put_with_the_same_content_is_not_a_new_version(api: APIClient) -> None:
    _create(api)

    response = api.put(f"{URL}welcome/", {"content": WELCOME}, format="json")

    assert response.json()["version"] == 1
    assert [r["version"] for r in _rows(api.get(f"{URL}welcome/versions/"))] == [1]


def test_versions_are_addressed_by_locale_like_the_template(api: APIClient) -> None:
    _create(api)
    french = {"email": {"subject": "Bienvenue", "text": "Salut"}}
    _create(api, content=french, locale="fr")

    fr = _rows(api.get(f"{URL}welcome/versions/?locale=fr"))
    one = api.get(f"{URL}welcome/versions/1/?locale=fr")

    assert [r["content"] for r in fr] == [french]
    assert (one.status_code, one.json()["content"]) == (200, french)
    assert api.get(f"{URL}welcome/versions/?locale=de").status_code == 404
    assert api.get(f"{URL}welcome/versions/2/").status_code == 404
    assert api.get(f"{URL}nope/versions/1/").status_code == 404


def test_a_sent_notification_names_a_version_whose_source_is_kept(api: APIClient) -> None:
    _create(api)
    sent = api.post(
        "/api/v1/notifications/",
        {
            "recipient": {"id": "u", "email": "ada@example.com"},
            "template": "welcome",
            "data": {"name": "Ada"},
        },
        format="json",
    )
    api.put(f"{URL}welcome/", {"content": {"sms": {"text": "changed"}}}, format="json")

    detail = api.get(f"/api/v1/notifications/{sent.json()['id']}/").json()
    version = api.get(f"{URL}welcome/versions/{detail['template_version']}/")

    assert (detail["template"], detail["template_version"]) == ("welcome", 1)
    assert version.status_code == 200
    assert version.json()["content"] == WELCOME
    # What was sent is still what version 1 rendered.
    assert Notification.objects.get().content["email"]["text"] == "Hello Ada"


def test_versions_need_read_scope_and_stay_within_the_tenant(api: APIClient) -> None:
    _create(api)
    _, sender = api_key_create(name="sender", scopes=["send"])
    _, other = api_key_create(name="other", tenant="other")

    def get(raw: str, path: str) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return int(client.get(path).status_code)

    assert get(sender, f"{URL}welcome/versions/") == 403
    assert get(other, f"{URL}welcome/versions/") == 404
    assert get(other, f"{URL}welcome/versions/1/") == 404
