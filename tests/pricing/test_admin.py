"""Consolidation jobs in the console: run now, and the last result."""

from django.urls import reverse

from pricing.models import ConsolidationJob


def test_run_now_starts_a_consolidation_and_reports_it(staff_client, priced):
    response = staff_client.post(
        reverse("admin:pricing_consolidationjob_run"), follow=True
    )

    job = ConsolidationJob.objects.get()
    assert job.status == ConsolidationJob.Status.SUCCEEDED
    assert f"Consolidation {job.pk}:".encode() in response.content
    assert b'id="consolidation-last"' in response.content
    assert b"succeeded" in response.content


def test_run_now_needs_a_post(staff_client, db):
    response = staff_client.get(reverse("admin:pricing_consolidationjob_run"))

    assert response.status_code == 405
    assert not ConsolidationJob.objects.exists()


def test_run_now_is_refused_to_non_staff(nonstaff_client, db):
    response = nonstaff_client.post(reverse("admin:pricing_consolidationjob_run"))

    assert response.status_code == 302
    assert not ConsolidationJob.objects.exists()


def test_the_job_list_says_when_nothing_has_run(staff_client, db):
    response = staff_client.get(
        reverse("admin:pricing_consolidationjob_changelist")
    )

    assert b"No consolidation has run yet." in response.content


def test_run_now_queues_the_task_when_workers_run_it(
    staff_client, db, settings, monkeypatch
):
    from pricing import admin as pricing_admin

    queued = []
    monkeypatch.setattr(
        pricing_admin.consolidate_prices_task, "delay", lambda: queued.append(1)
    )
    settings.CELERY_TASK_ALWAYS_EAGER = False

    response = staff_client.post(
        reverse("admin:pricing_consolidationjob_run"), follow=True
    )

    assert queued == [1]
    assert b"Consolidation queued for a worker." in response.content
