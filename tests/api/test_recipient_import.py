"""POST /api/v1/recipient-imports/: JSON, CSV and multipart, with a per-row error report."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from rest_framework.test import APIClient

from notify.models import Device, Recipient
from notify.services.access.apikeys import api_key_create

URL = "/api/v1/recipient-imports/"


def _csv(api: APIClient, text: str, *, query: str = "", bom: bool = False) -> Any:
    body = ("\ufeff" if bom else "") + text
    return api.post(f"{URL}{query}", body.encode(), content_type="text/csv")


def _stored() -> dict[str, tuple[str, str]]:
    return {r.external_id: (r.email, r.phone) for r in Recipient.objects.all()}


def test_a_json_import_stores_the_valid_rows_and_reports_the_others(api: APIClient) -> None:
    response = api.post(
        URL,
        {
            "recipients": [
                {"id": "u-1", "email": "ada@example.com", "locale": "fr-CA"},
                {"id": "u-2", "email": "not-an-email"},
                {"email": "no-id@example.com"},
                {"id": "u-3", "phone": "+1234", "push_tokens": [{"token": "tok-3"}]},
                {"id": "u-1", "email": "again@example.com"},
                {
                    "id": "u-4",
                    "phone": "+14155552671",
                    "timezone": "Europe/Paris",
                    "quiet_hours": {"start": "22:00", "end": "07:00"},
                    "push_tokens": [{"token": "tok-4", "platform": "ios"}],
                },
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "dry_run": False,
        "total": 6,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "failed": 4,
        "errors": [
            {"row": 2, "id": "u-2", "errors": {"email": ["Enter a valid email address."]}},
            {"row": 3, "id": None, "errors": {"id": ["This field is required."]}},
            {"row": 4, "id": "u-3", "errors": {"phone": ["Not a valid phone number."]}},
            {"row": 5, "id": "u-1", "errors": {"id": ["Duplicate of row 1."]}},
        ],
    }
    assert _stored() == {"u-1": ("ada@example.com", ""), "u-4": ("", "+14155552671")}
    u4 = Recipient.objects.get(external_id="u-4")
    assert (u4.timezone, str(u4.quiet_hours_start), str(u4.quiet_hours_end)) == (
        "Europe/Paris",
        "22:00:00",
        "07:00:00",
    )
    assert list(Device.objects.values_list("recipient__external_id", "token", "platform")) == [
        ("u-4", "tok-4", "ios")
    ]


def test_a_csv_import_with_a_bom_updates_without_blanking_empty_cells(api: APIClient) -> None:
    Recipient.objects.create(external_id="known", email="old@example.com", phone="+14155552671")

    response = _csv(
        api,
        "id,email,phone,push_tokens,platform\r\n"
        "known,,+447911123456,tok-a;tok-b,android\r\n"
        "new,new@example.com,,,\r\n"
        "bad,,0044 7911,,\r\n",
        bom=True,
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"], body["failed"]) == (1, 1, 1)
    assert body["errors"] == [
        {"row": 3, "id": "bad", "errors": {"phone": ["Use E.164 format, e.g. +14155552671."]}}
    ]
    assert _stored() == {
        "known": ("old@example.com", "+447911123456"),
        "new": ("new@example.com", ""),
    }
    assert set(Device.objects.values_list("token", "platform")) == {
        ("tok-a", "android"),
        ("tok-b", "android"),
    }


def test_reimporting_the_same_file_leaves_everything_unchanged(api: APIClient) -> None:
    text = "id,email,push_tokens\nu-1,ada@example.com,tok-1\nu-2,bob@example.com,\n"
    _csv(api, text)
    before = {r.pk: r.updated_at for r in Recipient.objects.all()}

    body = _csv(api, text).json()

    assert (body["created"], body["updated"], body["unchanged"]) == (0, 0, 2)
    assert {r.pk: r.updated_at for r in Recipient.objects.all()} == before
    assert Device.objects.count() == 1


def test_a_multipart_upload_takes_csv_or_json_files(api: APIClient) -> None:
    csv_file = SimpleUploadedFile("people.csv", b"id,email\nc-1,c1@example.com\n")
    json_file = SimpleUploadedFile(
        "people.json", b'{"recipients": [{"id": "j-1", "email": "j1@example.com"}]}'
    )

    from_csv = api.post(URL, {"file": csv_file}, format="multipart")
    from_json = api.post(URL, {"file": json_file}, format="multipart")

    assert from_csv.status_code == from_json.status_code == 200, from_csv.content
    assert _stored() == {"c-1": ("c1@example.com", ""), "j-1": ("j1@example.com", "")}


def test_a_dry_run_reports_what_would_happen_and_stores_nothing(api: APIClient) -> None:
    Recipient.objects.create(external_id="known", email="old@example.com")
    rows = [{"id": "known", "email": "new@example.com"}, {"id": "new", "phone": "+1"}]

    as_json = api.post(URL, {"recipients": rows, "dry_run": True}, format="json")
    by_query = api.post(f"{URL}?dry_run=1", {"recipients": rows, "dry_run": False}, format="json")
    as_csv = _csv(
        api, "id,email\nknown,new@example.com\nother,x@example.com\n", query="?dry_run=true"
    )

    assert as_json.status_code == as_csv.status_code == 200
    assert as_json.json()["dry_run"] is by_query.json()["dry_run"] is True
    assert (as_json.json()["updated"], as_json.json()["failed"]) == (1, 1)
    assert (as_csv.json()["updated"], as_csv.json()["created"]) == (1, 1)
    assert _stored() == {"known": ("old@example.com", "")}


def test_a_dry_run_flag_that_is_not_a_boolean_is_a_400(api: APIClient) -> None:
    response = _csv(api, "id\nu-1\n", query="?dry_run=maybe")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["dry_run"]
    assert Recipient.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "The file is empty"),
        ("email,phone\na@example.com,\n", "The header must have an `id` column."),
        ("id,emial,colour\n1,a@example.com,red\n", "Unknown columns: emial, colour."),
        ("id,email\n1,a@example.com,extra\n", "Row 1 has more cells than the header."),
        ('id,email\n1,"a@example.com\n', "Not a valid CSV file"),
    ],
)
def test_a_malformed_csv_file_is_a_400_and_stores_nothing(
    api: APIClient, body: str, message: str
) -> None:
    response = _csv(api, body)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation_error"
    assert message in response.json()["fields"]["file"][0]
    assert Recipient.objects.count() == 0


def test_a_csv_file_that_is_not_utf8_is_a_400(api: APIClient) -> None:
    response = api.post(
        URL, "id,email\nzoë,a@example.com\n".encode("latin-1"), content_type="text/csv"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"file": ["The file is not UTF-8 text."]}


def test_unknown_json_fields_and_a_missing_list_are_400s(api: APIClient) -> None:
    typo = api.post(URL, {"recipients": [{"id": "1", "emial": "a@example.com"}]}, format="json")
    no_list = api.post(URL, {"people": []}, format="json")

    assert typo.status_code == no_list.status_code == 400
    assert typo.json()["fields"]["recipients"][0].startswith("Unknown fields: emial.")
    assert "recipients" in no_list.json()["fields"]
    assert Recipient.objects.count() == 0


@override_settings(NOTIFY_IMPORT_MAX_ROWS=3)
def test_more_rows_than_the_limit_is_a_400_and_stores_nothing(api: APIClient) -> None:
    rows = "".join(f"u-{n},u{n}@example.com\n" for n in range(4))

    as_csv = _csv(api, "id,email\n" + rows)
    as_json = api.post(URL, {"recipients": [{"id": str(n)} for n in range(4)]}, format="json")
    at_limit = _csv(api, "id,email\n" + rows.split("u-3")[0])

    assert as_csv.status_code == as_json.status_code == 400
    assert as_csv.json()["fields"]["file"] == [
        "At most 3 rows per import; send bigger lists in several imports."
    ]
    assert "At most 3 rows" in as_json.json()["fields"]["recipients"][0]
    assert at_limit.status_code == 200
    assert Recipient.objects.count() == 3


def test_an_import_needs_a_key_with_the_send_scope(api: APIClient, db: Any) -> None:
    anonymous = APIClient().post(URL, {"recipients": [{"id": "1"}]}, format="json")
    _, raw = api_key_create(name="reader", scopes=["read"])
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert anonymous.status_code == 401
    assert reader.post(URL, {"recipients": [{"id": "1"}]}, format="json").status_code == 403
    assert Recipient.objects.count() == 0


def test_imported_recipients_belong_to_the_keys_tenant(db: Any) -> None:
    Recipient.objects.create(tenant="default", external_id="shared", email="default@example.com")
    _, raw = api_key_create(name="acme", tenant="acme")
    acme = APIClient()
    acme.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    body = acme.post(
        URL, {"recipients": [{"id": "shared", "email": "acme@example.com"}]}, format="json"
    ).json()

    assert body["created"] == 1
    assert set(Recipient.objects.values_list("tenant", "email")) == {
        ("default", "default@example.com"),
        ("acme", "acme@example.com"),
    }


def test_a_thousand_rows_take_a_bounded_number_of_queries(
    api: APIClient, django_assert_max_num_queries: Any
) -> None:
    Recipient.objects.bulk_create(
        [Recipient(external_id=f"u-{n}", email=f"old{n}@example.com") for n in range(0, 1000, 2)]
    )
    text = "id,email,phone,timezone,push_tokens\n" + "".join(
        f"u-{n},u{n}@example.com,+1415555{n:04d},Europe/Paris,tok-{n}\n" for n in range(1000)
    )

    with django_assert_max_num_queries(15):
        response = _csv(api, text)

    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert (body["created"], body["updated"], body["failed"]) == (500, 500, 0), body["errors"][:3]
    assert Recipient.objects.filter(email__startswith="u").count() == 1000
    assert Device.objects.count() == 1000


def test_an_import_may_be_larger_than_other_api_bodies(api: APIClient) -> None:
    """Ten thousand rows do not fit in the default body limit of other endpoints; imports
    have their own."""
    rows = "".join(f"bulk-{i},bulk-{i}@example.com,+1415555{i:04d}\n" for i in range(7000))
    text = "id,email,phone\n" + rows
    assert len(text.encode()) > settings.MAX_REQUEST_BYTES
    response = _csv(api, text)
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 7000
