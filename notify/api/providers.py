"""GET /api/v1/providers/ and /api/v1/channels/ (pause and circuit state), and
POST …/{name}/pause/ and …/{name}/resume/. A pause holds every worker back from the provider
or channel until resumed: deliveries stay pending and spend no attempt. Pauses are global
(every tenant), so they need the `manage` scope."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notify.api.auth import HasScope, caller_key
from notify.models.operations import Pause
from notify.services.pauses import (
    TARGETS,
    PauseState,
    PauseUnavailable,
    pause_lift,
    pause_set,
    pause_states,
)


class PauseOutput(serializers.ModelSerializer):
    class Meta:
        model = Pause
        fields = ["reason", "paused_by", "paused_at"]


class StateOutput(serializers.Serializer):
    name = serializers.CharField()
    channels = serializers.ListField(
        child=serializers.CharField(), help_text="Channels it currently carries"
    )
    paused = serializers.SerializerMethodField()
    pause = PauseOutput(allow_null=True, help_text="The operator's pause in force, if any")
    circuit = serializers.CharField(
        allow_null=True, help_text="Providers: closed, open, half-open or unknown"
    )

    def get_paused(self, obj: PauseState) -> bool:
        return obj.pause is not None

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        data["circuit"] = data["circuit"] or None
        return data


class PauseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class _Unavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"


class _KindApi(APIView):
    kind = Pause.Kind.PROVIDER  # set per route by as_view(kind=…)
    permission_classes = [HasScope]
    required_scopes = {"GET": "manage", "POST": "manage"}

    def state(self, name: str) -> PauseState:
        return next(s for s in pause_states(kind=self.kind) if s.name == name)

    def check_name(self, name: str) -> None:
        if name not in TARGETS[self.kind]:
            raise exceptions.NotFound(f"No {self.kind} {name!r}.")


@extend_schema(tags=["operations"])
class PauseStateListApi(_KindApi):
    @extend_schema(responses=StateOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(StateOutput(pause_states(kind=self.kind), many=True).data)


@extend_schema(tags=["operations"])
class PauseApi(_KindApi):
    @extend_schema(request=PauseInput, responses=StateOutput)
    def post(self, request: Request, name: str) -> Response:
        """Pause until resumed; pausing what is paused keeps the first pause."""
        self.check_name(name)
        data = PauseInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pause_set(
                kind=self.kind,
                target=name,
                reason=data.validated_data["reason"],
                paused_by=str(caller_key(request)),
            )
        except PauseUnavailable as exc:
            raise _Unavailable(str(exc)) from exc
        return Response(StateOutput(self.state(name)).data)


@extend_schema(tags=["operations"])
class ResumeApi(_KindApi):
    @extend_schema(request=None, responses=StateOutput)
    def post(self, request: Request, name: str) -> Response:
        """Resume and wake the workers; resuming what is not paused changes nothing."""
        self.check_name(name)
        try:
            pause_lift(kind=self.kind, target=name, resumed_by=str(caller_key(request)))
        except PauseUnavailable as exc:
            raise _Unavailable(str(exc)) from exc
        return Response(StateOutput(self.state(name)).data)
