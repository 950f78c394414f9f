"""A URLconf for tests/api/test_hostile_input_paths.py: the real one, plus two API routes that
fail with an error nobody handles (a bug), one inside DRF and one in a plain Django view."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.views import APIView

from notify.urls import handler404, handler500, urlpatterns

__all__ = ["handler404", "handler500", "urlpatterns"]


class BrokenApi(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    def get(self, request: Request) -> HttpResponse:
        raise RuntimeError("a bug in an API view")


def broken_plain_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a plain view")


urlpatterns = [
    path("api/v1/broken-drf/", BrokenApi.as_view()),
    path("api/v1/broken-plain/", broken_plain_view),
    *urlpatterns,
]
