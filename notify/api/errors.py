"""One JSON shape for every error: {"error": <code>, "detail": <message>, "fields": {...}}.
`fields` maps each invalid input field (dotted for nested ones) to its messages."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler
from rest_framework.views import set_rollback

from notify.validation.errors import field_errors

logger = logging.getLogger(__name__)

_SERVER_ERROR = {"error": "server_error", "detail": "Internal error; it has been logged."}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    """The JSON body an API error is answered with (a batch item's error too)."""
    if isinstance(exc, exceptions.ValidationError):
        return {
            "error": "validation_error",
            "detail": "Invalid input.",
            "fields": field_errors(exc.detail),
        }
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    return {"error": code, "detail": str(exc.detail)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OperationalError | InterfaceError):
        # Postgres is down or unreachable: nothing was stored; the client may retry.
        return Response(
            {"error": "unavailable", "detail": "The database is unavailable; retry shortly."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    # Convert Django's own exceptions the way DRF does, so they get our shape too.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_handler(exc, context)
    if response is None:
        # A bug, not bad input: logged with its traceback, answered in the API's shape.
        view = context.get("view")
        logger.error("Unhandled error in %s", type(view).__name__, exc_info=exc)
        set_rollback()
        return Response(_SERVER_ERROR, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, exceptions.APIException):
        response.data = error_body(exc)
    if isinstance(exc, Conflict):
        response["Retry-After"] = "1"
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a request Django refuses before any view (a Host header that is not a host
    name, other SuspiciousOperations) on an API URL answers in the API's shape."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "bad_request", "detail": "Bad request."}, status=400)
    return django_bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an API URL that matches no route (e.g. a malformed id) answers in the
    API's shape; anything else gets Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not_found", "detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an error outside a DRF view (a middleware, a plain Django view) on an API
    URL still answers JSON; Django has logged it already."""
    if request.path.startswith("/api/"):
        return JsonResponse(_SERVER_ERROR, status=500)
    return django_server_error(request)
