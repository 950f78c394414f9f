"""GET /api/v1/providers/ and /api/v1/channels/ (pause and circuit state), and
POST …/{name}/pause/ and …/{name}/resume/. A pause holds workers back until resumed:
deliveries stay pending and spend no attempt. All of it needs the `manage` scope.

Scope of a pause: a key pauses and resumes a channel for its own tenant (`"scope": "tenant"`,
the default for channels). Pausing a provider (shared by every tenant), or a channel for every
tenant (`"scope": "platform"`), is a platform operation and needs the `platform` scope too.
A tenant sees its own pauses in full and, of a pause of everyone, only that it is in force."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notify.api.auth import HasScope, caller_key
from notify.models.apikeys import ApiKey
from notify.models.operations import Pause
from notify.services.operations.pauses import (
    EVERY_TENANT,
    PauseState,
    PauseUnavailable,
    pause_lift,
    pause_set,
    pause_states,
    pause_targets,
)

TENANT, PLATFORM = "tenant", "platform"


class PauseOutput(serializers.ModelSerializer):
    class Meta:
        model = Pause
        fields = ["reason", "paused_by", "paused_at"]


class StateOutput(serializers.Serializer):
    name = serializers.CharField()
    channels = serializers.ListField(
        child=serializers.CharField(), help_text="Channels it currently carries"
    )
    paused = serializers.BooleanField(
        help_text="Your tenant's sends through it are held back (by either pause below)"
    )
    pause = PauseOutput(
        source="own", allow_null=True, help_text="Your tenant's own pause in force, if any"
    )
    platform_paused = serializers.BooleanField(help_text="Paused for every tenant")
    platform_pause = serializers.SerializerMethodField(
        help_text="The pause of every tenant: shown to keys with the platform scope only"
    )
    circuit = serializers.CharField(
        allow_null=True, help_text="Providers: closed, open, half-open or unknown"
    )

    @extend_schema_field(PauseOutput(allow_null=True))
    def get_platform_pause(self, obj: PauseState) -> dict[str, Any] | None:
        if obj.platform is None or not self.context.get("platform"):
            return None
        return dict(PauseOutput(obj.platform).data)

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        data["circuit"] = data["circuit"] or None
        return data


class PauseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    scope = serializers.ChoiceField(
        choices=[TENANT, PLATFORM],
        required=False,
        help_text="tenant: only your tenant's sends (channels only; their default); "
        "platform: every tenant's (needs the platform scope; the only choice for providers)",
    )


class ResumeInput(serializers.Serializer):
    scope = serializers.ChoiceField(
        choices=[TENANT, PLATFORM],
        required=False,
        help_text="Which pause to lift: your tenant's (channels' default) or every tenant's",
    )


class _Unavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"


class _KindApi(APIView):
    kind = Pause.Kind.PROVIDER  # set per route by as_view(kind=…)
    permission_classes = [HasScope]
    required_scopes = {"GET": "manage", "POST": "manage"}

    def output(self, request: Request, states: list[PauseState]) -> list[Any]:
        key = caller_key(request)
        context = {"platform": ApiKey.Scope.PLATFORM in key.scopes}
        return list(StateOutput(states, many=True, context=context).data)

    def states(self, request: Request) -> list[PauseState]:
        return pause_states(kind=self.kind, tenant=caller_key(request).tenant)

    def check_name(self, name: str) -> None:
        if name not in pause_targets(self.kind):
            raise exceptions.NotFound(f"No {self.kind} {name!r}.")

    def tenant_for(self, request: Request, scope: str | None) -> str:
        """The tenant the operation acts for; EVERY_TENANT only for a platform key."""
        scope = scope or (TENANT if self.kind == Pause.Kind.CHANNEL else PLATFORM)
        if scope == TENANT and self.kind == Pause.Kind.PROVIDER:
            raise exceptions.ValidationError(
                {
                    "scope": [
                        "A provider carries every tenant's sends, so it is paused for every "
                        "tenant (platform) or not at all; to hold back only your sends, "
                        "pause a channel."
                    ]
                }
            )
        key = caller_key(request)
        if scope == PLATFORM and ApiKey.Scope.PLATFORM not in key.scopes:
            raise exceptions.PermissionDenied(
                f"Pausing or resuming a {self.kind} for every tenant needs an API key with the "
                "platform scope. A tenant key pauses its own sends on a channel: "
                "POST /api/v1/channels/{name}/pause/."
            )
        return EVERY_TENANT if scope == PLATFORM else key.tenant

    def state(self, request: Request, name: str) -> Any:
        return next(s for s in self.output(request, self.states(request)) if s["name"] == name)


@extend_schema(tags=["operations"])
class PauseStateListApi(_KindApi):
    @extend_schema(responses=StateOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(self.output(request, self.states(request)))


@extend_schema(tags=["operations"])
class PauseApi(_KindApi):
    @extend_schema(request=PauseInput, responses=StateOutput)
    def post(self, request: Request, name: str) -> Response:
        """Pause until resumed; pausing what is paused keeps the first pause."""
        self.check_name(name)
        data = PauseInput(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = self.tenant_for(request, data.validated_data.get("scope"))
        try:
            pause_set(
                kind=self.kind,
                target=name,
                tenant=tenant,
                reason=data.validated_data["reason"],
                paused_by=str(caller_key(request)),
            )
        except PauseUnavailable as exc:
            raise _Unavailable(str(exc)) from exc
        return Response(self.state(request, name))


@extend_schema(tags=["operations"])
class ResumeApi(_KindApi):
    @extend_schema(request=ResumeInput, responses=StateOutput)
    def post(self, request: Request, name: str) -> Response:
        """Resume and wake the workers; resuming what is not paused changes nothing. A
        tenant's resume lifts its own pause, never the pause of every tenant."""
        self.check_name(name)
        data = ResumeInput(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = self.tenant_for(request, data.validated_data.get("scope"))
        try:
            pause_lift(
                kind=self.kind, target=name, tenant=tenant, resumed_by=str(caller_key(request))
            )
        except PauseUnavailable as exc:
            raise _Unavailable(str(exc)) from exc
        return Response(self.state(request, name))
