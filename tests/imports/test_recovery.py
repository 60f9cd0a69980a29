"""Jobs whose process ended mid-run (imports/recovery.py): a stale heartbeat is taken over
by one sweeper, the job cleaned up and queued again once, else failed with a plain message."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from bases import records, schema_services
from imports import api as imports_api
from imports import exports, newtable, recovery, services, tasks
from imports.models import ExportJob, ImportJob, NewTableJob
from permissions.checks import SYSTEM
from tests.imports.test_import_lifecycle import _items, upload
from tests.imports.test_import_new_table import store  # noqa: F401 - a fixture
from views.models import View
from views.services import view_create

pytestmark = pytest.mark.django_db
Status = ImportJob.Status
CSV = "name,qty,note\nkiwi,3,k\nplum,4,p\n"


@pytest.fixture
def items(make_table):
    return _items(make_table)


@pytest.fixture
def started(monkeypatch):
    """Jobs the sweep starts are recorded (the test runs them)."""
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(tasks, "start", lambda pk: calls.append(("import", pk)))
    monkeypatch.setattr(tasks, "start_new_table", lambda pk: calls.append(("new", pk)))
    monkeypatch.setattr(tasks, "start_export", lambda pk: calls.append(("export", pk)))
    return calls


def _queued_import(actor, table) -> ImportJob:
    job = services.job_create(actor=actor, table=table, upload=upload(CSV))
    services.job_start(actor=actor, job=job, mapping=job.mapping)
    job.refresh_from_db()
    return job


def _stall(job, seconds=300, **fields) -> None:
    """As a run killed `seconds` ago leaves it: running, its heartbeat that old."""
    type(job).objects.filter(pk=job.pk).update(
        status=Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(seconds=seconds),
        **fields,
    )
    job.refresh_from_db()


def _names(table):
    page = records.list_records(table, {"limit": "100", "sort": "id"}, actor=SYSTEM)
    return [r["name"] for r in page]


def test_a_stalled_import_is_requeued_once_and_finishes(items, actor, started):
    job = _queued_import(actor, items)
    assert job.heartbeat_at is not None  # queued: stamped
    _stall(job, done=1000, inserted=1000, checked=2)
    counts = recovery.recover_jobs()
    assert counts["requeued"] == 1
    job.refresh_from_db()
    assert (job.status, job.recoveries, job.done, job.inserted, job.checked) == (
        Status.PENDING,
        1,
        0,
        0,
        0,
    )
    assert started == [("import", str(job.pk))]
    assert imports_api.job_json(job)["status"] == "pending"  # the page says queued
    services.run_import(str(job.pk))
    job.refresh_from_db()
    assert job.status == Status.DONE and job.inserted == 2
    assert _names(items) == ["apple", "pear", "kiwi", "plum"]


def test_a_second_stall_fails_with_the_message_and_removes_the_file(
    items, actor, started
):
    job = _queued_import(actor, items)
    _stall(job, recoveries=1)
    assert recovery.recover_jobs()["failed"] == 1
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.finished_at is not None
    assert job.error == recovery.STOPPED
    assert not os.path.exists(job.path)
    assert started == []
    assert imports_api.job_json(job)["error"] == recovery.STOPPED
    assert _names(items) == ["apple", "pear"]


def test_a_stalled_import_whose_file_is_gone_fails(items, actor, started):
    job = _queued_import(actor, items)
    os.remove(job.path)
    _stall(job)
    recovery.recover_jobs()
    job.refresh_from_db()
    assert (job.status, job.error) == (Status.FAILED, recovery.STOPPED)


def test_a_stalled_job_whose_cancel_was_asked_is_cancelled(items, actor, started):
    job = _queued_import(actor, items)
    _stall(job, cancel_requested=True)
    assert recovery.recover_jobs()["cancelled"] == 1
    job.refresh_from_db()
    assert (job.status, job.error) == (Status.CANCELLED, services.CANCELLED)
    assert started == []


def test_the_stale_threshold(items, actor, started, settings):
    job = _queued_import(actor, items)
    _stall(job, seconds=60)
    assert recovery.recover_jobs()["requeued"] == 0  # 60 s < 120 s: alive
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.recoveries == 0
    settings.NOCO_JOB_STALE_SECONDS = 30
    assert recovery.recover_jobs()["requeued"] == 1
    job.refresh_from_db()
    assert job.status == Status.PENDING


def test_two_sweepers_one_wins(items, actor, started):
    """Both read the job as stale; the conditional UPDATE lets only the first take it."""
    job = _queued_import(actor, items)
    _stall(job)
    cutoff = timezone.now() - timedelta(seconds=120)
    first = recovery.take_over(ImportJob, job.pk, cutoff)
    second = recovery.take_over(ImportJob, job.pk, cutoff)
    assert (first, second) == ("requeued", None)
    job.refresh_from_db()
    assert job.recoveries == 1 and len(started) == 1


def test_a_beating_job_is_not_taken(items, actor, started):
    job = _queued_import(actor, items)
    _stall(job)
    cutoff = timezone.now() - timedelta(seconds=120)
    recovery.Pulse(job)(done=5)  # the runner is alive after all
    assert recovery.take_over(ImportJob, job.pk, cutoff) is None
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.done == 5


def test_a_queued_job_no_runner_took_is_started_again(items, actor, started):
    job = _queued_import(actor, items)
    assert recovery.recover_jobs()["restarted"] == 0  # just queued
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=600)
    )
    assert recovery.recover_jobs()["restarted"] == 1
    assert recovery.recover_jobs()["restarted"] == 0  # stamped when started again
    assert started == [("import", str(job.pk))]


def test_the_command_leaves_queued_jobs_to_the_web_process(
    items, actor, started, settings, capsys
):
    settings.NOCO_WEBHOOKS_RUNNER = "embedded"
    job = _queued_import(actor, items)
    _stall(job)
    call_command("recover_jobs")
    assert "1 requeued" in capsys.readouterr().out
    job.refresh_from_db()
    assert (job.status, job.heartbeat_at) == (Status.PENDING, None)
    assert started == []
    recovery.recover_jobs()  # the web process's next sweep starts it
    assert started == [("import", str(job.pk))]


def test_the_import_beats_while_it_runs(items, actor, settings):
    settings.NOCO_JOB_STALE_SECONDS = 1  # a beat every 0.25 s at most
    job = _queued_import(actor, items)
    before = timezone.now()
    services.run_import(str(job.pk))
    job.refresh_from_db()
    assert job.status == Status.DONE and job.heartbeat_at >= before


# --- into a new table --------------------------------------------------------------------


def _queued_new_table(actor, base) -> NewTableJob:
    job = newtable.job_create(
        actor=actor, base=base, upload=upload("name,qty\nkiwi,3\nplum,4\n", "fruit.csv")
    )
    newtable.job_start(actor=actor, job=job)
    job.refresh_from_db()
    return job


def test_a_stalled_new_table_import_drops_its_table_then_runs_again(
    store,  # noqa: F811 - the fixture
    actor,
    started,
):
    job = _queued_new_table(actor, store)
    half = schema_services.table_create(
        actor=actor, base=store, title=job.title, columns=[]
    )
    _stall(job, table_id=half.pk, done=1)
    assert recovery.recover_jobs()["requeued"] == 1
    job.refresh_from_db()
    assert (job.status, job.table_id, job.done) == (Status.PENDING, "", 0)
    assert not store.tables.filter(pk=half.pk).exists()
    assert started == [("new", str(job.pk))]
    newtable.run_new_table(str(job.pk))
    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    table = store.tables.get(pk=job.table_id)
    assert _names(table) == ["kiwi", "plum"]
    assert store.tables.filter(title=job.title).count() == 1


def test_a_new_table_import_stalled_twice_fails_and_leaves_no_table(
    store,  # noqa: F811 - the fixture
    actor,
    started,
):
    job = _queued_new_table(actor, store)
    half = schema_services.table_create(
        actor=actor, base=store, title=job.title, columns=[]
    )
    _stall(job, table_id=half.pk, recoveries=1)
    assert recovery.recover_jobs()["failed"] == 1
    job.refresh_from_db()
    assert (job.status, job.error, job.table_id) == (
        Status.FAILED,
        recovery.STOPPED,
        "",
    )
    assert not store.tables.filter(title=job.title).exists()
    assert not os.path.exists(job.path) and started == []


# --- exports -----------------------------------------------------------------------------


def _export(actor, table) -> ExportJob:
    view = View.objects.filter(table=table).first() or view_create(
        actor=actor, table=table, title="All"
    )
    return ExportJob.objects.create(
        table=table,
        view_id=view.pk,
        user=actor.user,
        format="csv",
        file_name="items.csv",
        total=2,
        heartbeat_at=timezone.now(),
    )


def test_a_stalled_export_removes_its_part_file_and_runs_again(items, actor, started):
    job = _export(actor, items)
    part = exports.export_path(job) + ".part"
    with open(part, "w") as f:
        f.write("name\napple\n")
    _stall(job, done=1)
    assert recovery.recover_jobs()["requeued"] == 1
    assert not os.path.exists(part)
    job.refresh_from_db()
    assert (job.status, job.done) == (Status.PENDING, 0)
    assert started == [("export", str(job.pk))]
    exports.run_export(str(job.pk))
    job.refresh_from_db()
    assert job.status == Status.DONE and job.done == 2
    with open(job.path) as f:
        assert "pear" in f.read()


def test_an_export_stalled_twice_fails(items, actor, started):
    job = _export(actor, items)
    _stall(job, recoveries=1)
    assert recovery.recover_jobs()["failed"] == 1
    job.refresh_from_db()
    assert (job.status, job.error) == (Status.FAILED, recovery.STOPPED_EXPORT)


def test_the_job_page_shows_the_recovered_job(items, actor, started, web):
    job = _queued_import(actor, items)
    url = f"/bases/{items.base_id}/tables/{items.pk}/import/{job.pk}"
    _stall(job)
    recovery.recover_jobs()
    page = web.get(url).content.decode()
    assert "Waiting to start" in page and "hx-get" in page  # queued again, still polled
    _stall(job)
    recovery.recover_jobs()
    page = web.get(url).content.decode()
    assert "process running it ended" in page and "Waiting to start" not in page


def test_the_beat_sweeps_with_a_task_not_acknowledged_late(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["imports-recover"]
    assert entry["task"] == tasks.recover.name
    assert tasks.recover.acks_late is False
    # As often as the embedded runner sweeps, and well inside the stale threshold: a job
    # whose process ended is found within NOCO_JOB_STALE_SECONDS and one sweep more.
    assert entry["schedule"] == recovery.recover_interval()
    assert entry["schedule"] < settings.NOCO_JOB_STALE_SECONDS
