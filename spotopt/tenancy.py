"""Which client a request speaks for: a bearer token or a dashboard user.

Every client page and client API call goes through client_of(); a path that
names another client's id answers 404, indistinguishable from absent.
"""

from django.http import Http404
from rest_framework.permissions import BasePermission

from agents.authentication import ClientPrincipal
from agents.models import Client, ClientMembership


def client_of(user) -> Client | None:
    """The client the caller acts for, or None for a user of no client."""
    if isinstance(user, ClientPrincipal):
        return user.client
    if user is None or not user.is_authenticated:
        return None

    membership = getattr(user, "_client_membership", None)
    if membership is None:
        membership = (
            ClientMembership.objects.select_related("client")
            .filter(user=user).first()
        )
        user._client_membership = membership
    if membership is None or not membership.client.is_active:
        return None
    return membership.client


def client_require(user, client_id) -> Client:
    """The caller's client if the path's id is theirs; otherwise 404."""
    client = client_of(user)
    if client is None or str(client.pk) != str(client_id):
        raise Http404
    return client


class IsClientMember(BasePermission):
    """A client token, or a signed-in user who belongs to an active client."""

    def has_permission(self, request, view):
        return client_of(request.user) is not None


class ClientScoped:
    """Mixin of every client API view: the caller's client, path checked."""

    permission_classes = [IsClientMember]

    @property
    def is_schema_view(self) -> bool:
        """The OpenAPI generator calls get_queryset() without a caller."""
        return getattr(self, "swagger_fake_view", False)

    @property
    def client(self) -> Client:
        if self.is_schema_view:
            return Client(pk=0)
        return client_of(self.request.user)

    def path_client(self) -> Client:
        if self.is_schema_view:
            return Client(pk=0)
        return client_require(self.request.user, self.kwargs["client_id"])
