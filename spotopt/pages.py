"""What every dashboard page shares: the signed-in user's client, the overview.

A page is reached by a signed-in user who belongs to an active client; a
signed-in user of no client, or another client's object, gets 404.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from agents.selectors import agent_list, agent_status_counts
from instances.selectors import emergencies_active, instance_state_counts
from notifications.models import Notification
from pricing.reports import savings_summary
from spotopt.tenancy import client_of

PAGE_SIZE = 25


def client_page(view):
    """Require a signed-in member; pass the client as `request.client`."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        client = client_of(request.user)
        if client is None:
            raise Http404
        request.client = client
        return view(request, *args, **kwargs)

    return wrapper


def page_of(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def page_context(request, **context) -> dict:
    """The context every page needs for its header and the live feed."""
    unread = Notification.objects.filter(
        client_id=request.client.pk, read_at__isnull=True
    ).count()
    return {"client": request.client, "unread_count": unread, **context}


@client_page
def overview(request):
    client_id = request.client.pk
    context = page_context(
        request,
        agent_counts=agent_status_counts(client_id=client_id),
        instance_counts=instance_state_counts(client_id=client_id),
        savings=savings_summary(client_id=client_id),
        emergencies=emergencies_active(client_id=client_id),
        agents=agent_list(client_id=client_id)[:PAGE_SIZE],
    )
    return render(request, "spotopt/overview.html", context)
