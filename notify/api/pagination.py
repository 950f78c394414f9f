"""Cursor pages whose cursor a caller cannot turn into a server error."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class CheckedCursorPagination(CursorPagination):
    """DRF checks a cursor's base64 and offset but hands its position straight to the
    ordering field's filter; a position that is no value of that field ("2026-1" for a
    time) is refused as DRF refuses any other bad cursor: 404 "Invalid cursor"."""

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValidationError, ValueError, TypeError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None
