"""POST /api/v1/recipient-imports/: many recipients at once, from JSON or CSV."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notify.api.auth import HasScope, caller_key
from notify.api.parsers import BoundedJSONParser
from notify.services.recipients.imports import (
    ImportFileError,
    recipient_rows_from_csv,
    recipient_rows_from_json,
    recipient_rows_from_upload,
    recipients_import,
)
from notify.validation.recipients import RecipientImportRow


class CsvParser(BaseParser):
    """Hands the raw body to the import service, which parses and reports on it."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return bytes(stream.read())


class ImportOptions(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False)


class ImportJsonInput(ImportOptions):
    recipients = RecipientImportRow(many=True)


class ImportFileInput(ImportOptions):
    file = serializers.FileField(help_text="CSV, or JSON if the name ends in .json")


class ImportRowError(serializers.Serializer):
    row = serializers.IntegerField(
        help_text="1 is the first data row: the line after the CSV header, or recipients[0]"
    )
    id = serializers.CharField(allow_null=True)
    # The report's names shadow Serializer.errors, which these output-only serializers never use.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField())
    )


class ImportReportOutput(serializers.Serializer):
    dry_run = serializers.BooleanField()
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    errors = ImportRowError(many=True)  # type: ignore[assignment]


@extend_schema(tags=["recipients"])
class RecipientImportApi(APIView):
    permission_classes = [HasScope]
    required_scopes = {"POST": "send"}
    parser_classes = [BoundedJSONParser, CsvParser, MultiPartParser]

    @extend_schema(
        request={
            "application/json": ImportJsonInput,
            "text/csv": OpenApiTypes.STR,
            "multipart/form-data": ImportFileInput,
        },
        parameters=[
            OpenApiParameter("dry_run", bool, description="Validate and report; store nothing")
        ],
        responses=ImportReportOutput,
        description=(
            "Create or update many recipients. Valid rows are stored even when others fail; "
            "`errors` lists the failed rows. A file that cannot be read as a whole (not "
            "CSV/JSON, unknown columns, no `id` column, too many rows) is a 400."
        ),
    )
    def post(self, request: Request) -> Response:
        source = "recipients" if request.content_type.startswith("application/json") else "file"
        dry_run = _dry_run(request)
        try:
            report = recipients_import(
                tenant=caller_key(request).tenant, rows=_rows(request), dry_run=dry_run
            )
        except ImportFileError as exc:
            raise serializers.ValidationError({source: [str(exc)]}) from exc
        return Response(asdict(report))


def _rows(request: Request) -> list[Any]:
    if request.content_type.startswith("text/csv"):
        # An empty body never reaches the parser.
        body = request.data if isinstance(request.data, bytes) else b""
        return recipient_rows_from_csv(data=body)
    if request.content_type.startswith("multipart/"):
        upload = request.FILES.get("file")
        if upload is None:
            raise ImportFileError("Upload the file as the `file` field.")
        return recipient_rows_from_upload(data=upload.read(), filename=upload.name or "")
    return recipient_rows_from_json(data=request.data)


def _dry_run(request: Request) -> bool:
    # In the query string or the body (JSON or form): either is enough, since a "dry run"
    # that writes is the costly mistake.
    body = request.data if isinstance(request.data, dict) else {}
    flags = [ImportOptions(data=source) for source in (request.query_params, body)]
    for flag in flags:
        flag.is_valid(raise_exception=True)
    return any(flag.validated_data["dry_run"] for flag in flags)
