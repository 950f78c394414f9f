"""recipients_import and the file readers: rows are validated like PUT /recipients/{id}/ and
merged like it, a batch at a time."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from notify.models import Device, Recipient
from notify.services.recipients import imports as recipient_import
from notify.services.recipients.imports import (
    ImportFileError,
    recipient_rows_from_csv,
    recipient_rows_from_upload,
    recipients_import,
)


def _import(*rows: dict[str, Any], dry_run: bool = False) -> recipient_import.ImportReport:
    return recipients_import(tenant="default", rows=list(rows), dry_run=dry_run)


def test_a_row_is_refused_with_the_same_messages_as_a_put(api: APIClient) -> None:
    body = {"email": "nope", "phone": "4155552671", "locale": "x", "timezone": "Mars/Olympus"}

    put = api.put("/api/v1/recipients/u-1/", body, format="json")
    report = _import({"id": "u-1", **body})

    assert put.status_code == 400
    assert report.errors == [{"row": 1, "id": "u-1", "errors": put.json()["fields"]}]
    assert Recipient.objects.count() == 0


def test_merging_follows_put_given_fields_change_others_stay(db: Any) -> None:
    Recipient.objects.create(
        external_id="u-1",
        email="ada@example.com",
        phone="+14155552671",
        locale="fr",
        quiet_hours_start=time(22),
        quiet_hours_end=time(7),
    )

    report = _import({"id": "u-1", "email": "", "locale": "fr-CA", "quiet_hours": None})

    assert (report.updated, report.created) == (1, 0)
    u1 = Recipient.objects.get()
    assert (u1.email, u1.phone, u1.locale) == ("", "+14155552671", "fr-CA")
    assert (u1.quiet_hours_start, u1.quiet_hours_end) == (None, None)


def test_a_repeated_id_is_reported_and_only_the_first_row_is_stored(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recipient_import, "BATCH_SIZE", 2)  # the repeat lands in a later batch

    report = _import(
        {"id": "a", "email": "first@example.com"},
        {"id": "b"},
        {"id": "c"},
        {"id": "a", "email": "second@example.com"},
    )

    assert (report.created, report.failed) == (3, 1)
    assert report.errors == [{"row": 4, "id": "a", "errors": {"id": ["Duplicate of row 1."]}}]
    assert Recipient.objects.get(external_id="a").email == "first@example.com"


def test_an_id_the_recipients_url_could_not_reach_is_refused(db: Any) -> None:
    report = _import({"id": "team/42"}, {"id": ""}, {"id": {"x": 1}}, {"id": 42})

    assert [(e["id"], e["errors"]) for e in report.errors] == [
        ("team/42", {"id": ["Must not contain '/'."]}),
        ("", {"id": ["This field may not be blank."]}),
        (None, {"id": ["Not a valid string."]}),
    ]
    assert list(Recipient.objects.values_list("external_id", flat=True)) == ["42"]


def test_known_tokens_are_revived_and_count_as_an_update(db: Any) -> None:
    recipient = Recipient.objects.create(external_id="u-1")
    Device.objects.create(recipient=recipient, token="dead", active=False, deactivated_reason="x")
    Device.objects.create(recipient=recipient, token="alive", platform="ios")
    Recipient.objects.create(external_id="u-2")
    Device.objects.create(recipient=Recipient.objects.get(external_id="u-2"), token="same")

    report = _import(
        {
            "id": "u-1",
            "push_tokens": [{"token": "dead", "platform": "android"}, {"token": "alive"}],
        },
        {"id": "u-2", "push_tokens": [{"token": "same"}]},
    )

    assert (report.updated, report.unchanged) == (1, 1)
    assert set(Device.objects.values_list("token", "platform", "active", "deactivated_reason")) == {
        ("dead", "android", True, ""),
        ("alive", "ios", True, ""),
        ("same", "unknown", True, ""),
    }


def test_a_dry_run_counts_like_the_real_run_and_writes_nothing(db: Any) -> None:
    Recipient.objects.create(external_id="known", email="old@example.com")
    rows: list[dict[str, Any]] = [
        {"id": "known", "email": "new@example.com"},
        {"id": "fresh", "push_tokens": [{"token": "t"}]},
        {"id": "bad", "phone": "+1"},
    ]

    dry = _import(*rows, dry_run=True)
    assert Recipient.objects.count() == 1 and Device.objects.count() == 0
    real = _import(*rows)

    assert (dry.created, dry.updated, dry.failed) == (real.created, real.updated, real.failed)
    assert dry.errors == real.errors
    assert (dry.dry_run, real.dry_run) == (True, False)
    assert Recipient.objects.count() == 2 and Device.objects.count() == 1


def test_after_a_lost_race_the_devices_belong_to_the_row_that_won(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    merge = recipient_import.recipient_changes

    def racing(data: dict[str, Any]) -> dict[str, Any]:
        # Another request creates the same person after this batch read the table.
        Recipient.objects.get_or_create(external_id="u-1")
        return merge(data)

    monkeypatch.setattr(recipient_import, "recipient_changes", racing)

    report = _import({"id": "u-1", "push_tokens": [{"token": "tok"}]})

    assert report.created == 1
    winner = Recipient.objects.get()
    assert list(winner.devices.values_list("token", flat=True)) == ["tok"]


def test_csv_cells_map_to_the_json_shape_and_blank_cells_are_not_given(db: Any) -> None:
    rows = recipient_rows_from_csv(
        data=b"id,email,quiet_hours_start,quiet_hours_end,push_tokens,platform\n"
        b"u-1,  ,22:00,07:00, tok-1 ; tok-2 ,ios\n"
        b"u-2,b@example.com,22:00\n"
    )

    assert rows == [
        {
            "id": "u-1",
            "quiet_hours": {"start": "22:00", "end": "07:00"},
            "push_tokens": [
                {"token": "tok-1", "platform": "ios"},
                {"token": "tok-2", "platform": "ios"},
            ],
        },
        {"id": "u-2", "email": "b@example.com", "quiet_hours": {"start": "22:00"}},
    ]
    assert _import(*rows).errors == [
        {"row": 2, "id": "u-2", "errors": {"quiet_hours.end": ["This field is required."]}}
    ]


def test_a_csv_header_naming_a_column_twice_is_refused() -> None:
    with pytest.raises(ImportFileError, match="appears twice"):
        recipient_rows_from_csv(data=b"id,email,email\n1,a@example.com,b@example.com\n")


def test_an_upload_is_json_by_its_name_and_broken_json_is_refused() -> None:
    as_list = recipient_rows_from_upload(data=b'[{"id": "1"}]', filename="People.JSON")

    assert as_list == [{"id": "1"}]
    with pytest.raises(ImportFileError, match="Not a valid JSON file"):
        recipient_rows_from_upload(data=b'{"recipients": [', filename="people.json")
    with pytest.raises(ImportFileError, match="Unknown columns"):
        recipient_rows_from_upload(data=b'[{"id": "1"}]', filename="people.csv")
