"""Dashboard pages of the agents: the list and one agent's detail."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from agents.filters import AgentFilter
from agents.forms import AgentConfigForm
from agents.selectors import agent_get, agent_list
from agents.services.lifecycle import agent_config_update
from decisions.models import DecisionLog
from instances.selectors import instance_list
from spotopt.pages import client_page, page_context, page_of


@client_page
def agent_list_page(request):
    filterset = AgentFilter(
        request.GET, queryset=agent_list(client_id=request.client.pk)
    )
    context = page_context(
        request, filter=filterset, page=page_of(request, filterset.qs)
    )
    return render(request, "agents/agent_list.html", context)


@client_page
def agent_detail(request, agent_id):
    agent = agent_get(client_id=request.client.pk, agent_id=agent_id)
    if agent is None:
        raise Http404

    form = AgentConfigForm(request.POST or None, initial=agent.config())
    if request.method == "POST" and form.is_valid():
        agent_config_update(
            agent=agent, changes=form.cleaned_data,
            cause=f"dashboard ({request.user})",
        )
        messages.success(request, "Settings saved; the agent has been told.")
        return redirect("agents:agent-detail", agent_id=agent.pk)

    context = page_context(
        request,
        agent=agent,
        form=form,
        decisions=DecisionLog.objects.filter(agent=agent)[:50],
        instances=instance_list(client_id=request.client.pk).filter(agent=agent)[:20],
    )
    return render(request, "agents/agent_detail.html", context)
