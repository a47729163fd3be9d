"""The base of every agent endpoint: token auth, agent look-up, idempotency."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from agents.authentication import (
    ClientPrincipal,
    ClientTokenAuthentication,
    agent_is_owned,
)
from agents.idempotency import idempotent_call
from agents.models import Agent
from agents.selectors import agent_get

REQUEST_ID_HEADER = OpenApiParameter(
    "X-Request-ID",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Idempotency key: a repeat returns the first response.",
)


def _is_id(raw: str) -> bool:
    # str.isdigit() also accepts digits like "²" that int() refuses, and a
    # huge number would overflow the bigint column.
    return raw.isascii() and raw.isdigit() and len(raw) <= 18


class IsClientToken(IsAuthenticated):
    def has_permission(self, request, view):
        return isinstance(request.user, ClientPrincipal)


class AgentAPIView(APIView):
    """An endpoint an agent calls with its client's bearer token."""

    authentication_classes = [ClientTokenAuthentication]
    permission_classes = [IsClientToken]

    @property
    def client(self):
        return self.request.user.client

    def get_agent(self) -> Agent:
        agent = agent_get(
            client_id=self.client.pk, agent_id=self.kwargs.get("agent_id", "")
        )
        if agent is None:
            raise Http404
        return agent

    def get_agent_id(self) -> int:
        """The agent id of the path, checked against the caller's client.

        The hot read-only paths need only the id, and this check is usually
        answered from memory, so an idle poll runs no query.
        """
        raw = str(self.kwargs.get("agent_id", ""))
        if not _is_id(raw):
            raise Http404
        if not agent_is_owned(client_id=self.client.pk, agent_id=int(raw)):
            raise Http404
        return int(raw)

    def validated(self, serializer_class, data=None):
        serializer = serializer_class(
            data=self.request.data if data is None else data
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class AgentActionView(AgentAPIView):
    """A POST endpoint: `act(request, agent)` runs at most once per request id."""

    def post(self, request, *args, **kwargs):
        return idempotent_call(
            request=request,
            client_id=self.client.pk,
            handler=lambda: self.act(request, self._agent_for_action()),
        )

    def _agent_for_action(self) -> Agent | None:
        return self.get_agent()
