"""Bulk import of recipients from CSV or JSON, with a report of the rows that failed.

Each row is validated exactly like the body of PUT /api/v1/recipients/{id}/ (plus its `id`).
The valid rows are then upserted a batch at a time (a few queries per batch) in one
transaction; a bad row never holds back the good ones. Rows are numbered from 1, counting
data rows only: row 1 is the line after the CSV header, or the first element of the list."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from rest_framework import serializers

from notify.models.recipients import Recipient
from notify.services.recipients.recipients import (
    CONTACT_FIELDS,
    devices_register_many,
    recipient_changes,
    recipient_merge,
)
from notify.validation.errors import field_errors
from notify.validation.jsonbody import json_loads_bounded
from notify.validation.recipients import RecipientImportRow

BATCH_SIZE = 1000
# Keys of a JSON row; CSV spells quiet hours as two columns and tokens as one.
JSON_FIELDS = ("id", "email", "phone", "locale", "timezone", "quiet_hours", "push_tokens")
CSV_COLUMNS = (
    *("id", "email", "phone", "locale", "timezone"),
    *("quiet_hours_start", "quiet_hours_end", "push_tokens", "platform"),
)
_WRITTEN = (*CONTACT_FIELDS, "quiet_hours_start", "quiet_hours_end", "updated_at")
_EXTRA_CELLS = "\x00extra"


class ImportFileError(Exception):
    """The file as a whole is unusable (not CSV/JSON, unknown columns, too many rows)."""


@dataclass
class ImportReport:
    dry_run: bool
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def _check_size(count: int) -> None:
    limit = settings.NOTIFY_IMPORT_MAX_ROWS
    if count > limit:
        raise ImportFileError(
            f"At most {limit} rows per import; send bigger lists in several imports."
        )


def recipient_rows_from_json(*, data: Any) -> list[Any]:
    """Rows from parsed JSON: {"recipients": [...]} or the bare list."""
    rows = data.get("recipients") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise ImportFileError('Expected {"recipients": [...]}: a list of recipient objects.')
    _check_size(len(rows))
    unknown = sorted({k for row in rows if isinstance(row, dict) for k in row} - {*JSON_FIELDS})
    if unknown:
        raise ImportFileError(
            f"Unknown fields: {', '.join(unknown)}. Known: {', '.join(JSON_FIELDS)}."
        )
    return rows


def recipient_rows_from_csv(*, data: bytes) -> list[dict[str, Any]]:
    """Rows from CSV (UTF-8, BOM or not) with a header row; an empty cell is "not given"."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError("The file is not UTF-8 text.") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey=_EXTRA_CELLS, strict=True)
    try:
        reader.fieldnames = _csv_columns(reader.fieldnames)
        rows: list[dict[str, Any]] = []
        for record in reader:
            _check_size(len(rows) + 1)
            if _EXTRA_CELLS in record:
                raise ImportFileError(f"Row {len(rows) + 1} has more cells than the header.")
            rows.append(_csv_row(record))
    except csv.Error as exc:
        raise ImportFileError(f"Not a valid CSV file (line {reader.line_num}): {exc}.") from exc
    return rows


def _csv_columns(header: Sequence[str] | None) -> list[str]:
    if not header:
        raise ImportFileError("The file is empty: a header row naming the columns is required.")
    columns = [c.strip() for c in header]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown:
        raise ImportFileError(
            f"Unknown columns: {', '.join(unknown)}. Known: {', '.join(CSV_COLUMNS)}."
        )
    if len(set(columns)) < len(columns):
        raise ImportFileError("A column appears twice in the header.")
    if "id" not in columns:
        raise ImportFileError("The header must have an `id` column.")
    return columns


def _csv_row(record: dict[str, str | None]) -> dict[str, Any]:
    # A missing cell (short row) or a blank one means "not given": never blank a value.
    given = {k: v for k, v in record.items() if v is not None and v.strip()}
    row: dict[str, Any] = {k: given[k] for k in ("id", *CONTACT_FIELDS) if k in given}
    quiet = {k: given[f"quiet_hours_{k}"] for k in ("start", "end") if f"quiet_hours_{k}" in given}
    if quiet:
        row["quiet_hours"] = quiet
    tokens = [t.strip() for t in given.get("push_tokens", "").split(";") if t.strip()]
    if tokens:
        platform = {"platform": given["platform"]} if "platform" in given else {}
        row["push_tokens"] = [{"token": t, **platform} for t in tokens]
    return row


def recipient_rows_from_upload(*, data: bytes, filename: str) -> list[Any]:
    """Rows from an uploaded file: JSON if its name ends in .json, CSV otherwise."""
    if not filename.lower().endswith(".json"):
        return recipient_rows_from_csv(data=data)
    try:
        parsed = json_loads_bounded(data)
    except ValueError as exc:  # undecodable, malformed, or nested too deeply
        raise ImportFileError(f"Not a valid JSON file: {exc}.") from exc
    return recipient_rows_from_json(data=parsed)


def recipients_import(*, tenant: str, rows: Sequence[Any], dry_run: bool = False) -> ImportReport:
    """Validate every row, then create or merge the valid ones like PUT does (fields not given
    are kept). A later row repeating an earlier row's id is an error, not imported.
    `dry_run` reports what would happen and writes nothing."""
    _check_size(len(rows))
    report = ImportReport(dry_run=dry_run, total=len(rows))
    valid = _validate(rows, report)
    with transaction.atomic():
        for start in range(0, len(valid), BATCH_SIZE):
            _upsert_batch(tenant, valid[start : start + BATCH_SIZE], report, dry_run)
    return report


def _validate(rows: Sequence[Any], report: ImportReport) -> list[dict[str, Any]]:
    validator = RecipientImportRow()
    first_row: dict[str, int] = {}
    valid = []
    for number, row in enumerate(rows, start=1):
        errors: dict[str, list[str]] = {}
        try:
            data = validator.run_validation(row)
            external_id = data["id"]
        except serializers.ValidationError as exc:
            errors = field_errors(exc.detail)
            raw = row.get("id") if isinstance(row, dict) else None
            external_id = raw if isinstance(raw, str) else None
        if isinstance(external_id, str):
            if external_id in first_row:
                errors.setdefault("id", []).append(f"Duplicate of row {first_row[external_id]}.")
            first_row.setdefault(external_id, number)
        if errors:
            report.failed += 1
            report.errors.append({"row": number, "id": external_id, "errors": errors})
        else:
            valid.append(data)
    return valid


def _upsert_batch(
    tenant: str, batch: list[dict[str, Any]], report: ImportReport, dry_run: bool
) -> None:
    found = Recipient.objects.filter(tenant=tenant, external_id__in=[d["id"] for d in batch])
    existing = {r.external_id: r for r in found}
    rows = dict(existing)
    writes: list[Recipient] = []  # new rows and changed ones
    for data in batch:
        changes = recipient_changes(data)
        if data["id"] not in existing:
            rows[data["id"]] = Recipient(tenant=tenant, external_id=data["id"], **changes)
            writes.append(rows[data["id"]])
        elif recipient_merge(recipient=existing[data["id"]], changes=changes):
            writes.append(existing[data["id"]])
    tokens = {d["id"]: _tokens(d) for d in batch if d.get("push_tokens")}
    if not dry_run:
        _write(tenant, writes, [rows[i] for i in tokens if i not in existing])
    devices = devices_register_many(
        tokens=((rows[i], t, p) for i, specs in tokens.items() for t, p in specs.items()),
        dry_run=dry_run,
    )
    changed = {r.pk for r in writes} | {d.recipient_id for d in devices}
    for external_id, recipient in rows.items():
        if external_id not in existing:
            report.created += 1
        elif recipient.pk in changed:
            report.updated += 1
        else:
            report.unchanged += 1


def _tokens(data: dict[str, Any]) -> dict[str, str]:
    # A token listed twice counts once; its last platform wins.
    return {d["token"]: d.get("platform") or "unknown" for d in data["push_tokens"]}


def _write(tenant: str, recipients: list[Recipient], created: list[Recipient]) -> None:
    # One INSERT … ON CONFLICT DO UPDATE for new and changed rows alike. A recipient created
    # by a concurrent request since the read above takes this row's values.
    Recipient.objects.bulk_create(
        recipients,
        update_conflicts=True,
        unique_fields=["tenant", "external_id"],
        update_fields=list(_WRITTEN),
    )
    if created:
        # After a lost race the row's id is not the one generated here (and bulk_create keeps
        # the one already set): read it back before devices point at it.
        ids = dict(
            Recipient.objects.filter(
                tenant=tenant, external_id__in=[r.external_id for r in created]
            ).values_list("external_id", "pk")
        )
        for recipient in created:
            recipient.pk = ids[recipient.external_id]
