"""Dashboard pages of money: savings charts and their CSV exports."""

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone

from instances.selectors import switch_list
from pricing import exports, reports
from spotopt.pages import client_page, page_context

SAVINGS_DAYS = 30
SAVINGS_MONTHS_DAYS = 365


@client_page
def savings(request):
    client_id = request.client.pk
    today = timezone.now().date()
    daily = reports.savings_series(
        client_id=client_id, period="day", since=today - timedelta(days=SAVINGS_DAYS)
    )
    monthly = reports.savings_series(
        client_id=client_id, period="month",
        since=(today - timedelta(days=SAVINGS_MONTHS_DAYS)).replace(day=1),
    )
    context = page_context(
        request,
        summary=reports.savings_summary(client_id=client_id),
        daily=daily,
        monthly=monthly,
        switches=switch_list(client_id=client_id)[:10],
    )
    return render(request, "pricing/savings.html", context)


@client_page
def savings_export(request):
    period = "month" if request.GET.get("period") == "month" else "day"
    return exports.savings_csv(client_id=request.client.pk, period=period, days=365)


@client_page
def switch_history_export(request):
    return exports.switches_csv(switches=switch_list(client_id=request.client.pk))
