"""Dashboard pages of instances: the list, the detail and manual actions."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from agents.selectors import agent_get
from instances.filters import InstanceFilter
from instances.forms import ForceSwitchForm, TargetForm, TerminateForm
from instances.models import Switch
from instances.selectors import instance_event_log, instance_get, instance_list
from instances.services.manual import (
    ActionRefused,
    instance_force_switch,
    instance_terminate_manual,
    manual_target_resolve,
    replica_launch_manual,
)
from instances.services.switching import SwitchInProgress, SwitchNotNeeded
from pricing import reports
from spotopt.pages import client_page, page_context, page_of


def _instance_or_404(request, instance_pk):
    instance = instance_get(client_id=request.client.pk, instance_pk=instance_pk)
    if instance is None:
        raise Http404
    return instance


@client_page
def instance_list_page(request):
    filterset = InstanceFilter(
        request.GET, queryset=instance_list(client_id=request.client.pk)
    )
    context = page_context(
        request, filter=filterset, page=page_of(request, filterset.qs)
    )
    return render(request, "instances/instance_list.html", context)


@client_page
def instance_detail(request, instance_pk):
    instance = _instance_or_404(request, instance_pk)
    options = reports.pool_options(instance=instance)
    targets = [row for row in options if not row["current"]]
    simulation = _simulation(request, instance, targets)
    switches = Switch.objects.filter(agent_id=instance.agent_id).select_related(
        "agent"
    )[:20]
    context = page_context(
        request,
        instance=instance,
        options=options,
        simulation=simulation,
        simulate_form=TargetForm(
            request.GET if "target_pool_id" in request.GET else None,
            options=targets, auto_id="simulate_%s",
        ),
        switch_form=ForceSwitchForm(options=targets, auto_id="switch_%s"),
        launch_form=TargetForm(options=options, auto_id="launch_%s"),
        terminate_form=TerminateForm(auto_id="terminate_%s"),
        switches=switches,
        events=instance_event_log(instance=instance, limit=50),
    )
    return render(request, "instances/instance_detail.html", context)


def _simulation(request, instance, targets) -> dict | None:
    target = request.GET.get("target_pool_id")
    if not target:
        return None
    try:
        pool = manual_target_resolve(instance_region=instance.region, target=target)
    except ActionRefused:
        return None
    return reports.switch_simulate(instance=instance, target_pool=pool)


@require_POST
@client_page
def instance_force_switch_page(request, instance_pk):
    instance = _instance_or_404(request, instance_pk)
    targets = [
        row for row in reports.pool_options(instance=instance) if not row["current"]
    ]
    form = ForceSwitchForm(request.POST, options=targets)
    if not form.is_valid():
        messages.error(request, "Choose a target and confirm the switch.")
        return redirect("instances:instance-detail", instance_pk=instance.pk)

    try:
        switch, _ = instance_force_switch(
            instance=instance, target=form.cleaned_data["target_pool_id"],
            cause=f"force-switch by {request.user}", request_id=request.log_id,
        )
    except (ActionRefused, SwitchInProgress, SwitchNotNeeded) as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"Switch {switch.pk} to {switch.to_pool_id} started."
        )
    return redirect("instances:instance-detail", instance_pk=instance.pk)


@require_POST
@client_page
def instance_launch_page(request, agent_id):
    agent = agent_get(client_id=request.client.pk, agent_id=agent_id)
    if agent is None:
        raise Http404

    try:
        replica, _ = replica_launch_manual(
            agent=agent, target=request.POST.get("target_pool_id", ""),
            cause=f"launch by {request.user}", request_id=request.log_id,
        )
    except ActionRefused as error:
        messages.error(request, str(error))
        return redirect("agents:agent-detail", agent_id=agent.pk)
    messages.success(request, "Replica launch queued.")
    return redirect("instances:instance-detail", instance_pk=replica.instance_id)


@require_POST
@client_page
def instance_terminate_page(request, instance_pk):
    instance = _instance_or_404(request, instance_pk)
    form = TerminateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Tick the box to confirm the termination.")
        return redirect("instances:instance-detail", instance_pk=instance.pk)

    try:
        instance_terminate_manual(
            instance=instance, cause=f"terminate by {request.user}",
            request_id=request.log_id,
        )
    except ActionRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Termination queued.")
    return redirect("instances:instance-detail", instance_pk=instance.pk)
