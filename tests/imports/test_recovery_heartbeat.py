"""A running job's heartbeat comes from a thread of its process (imports/recovery.py::alive,
nocoplatform/heartbeat.py): one step longer than NOCO_JOB_STALE_SECONDS (a long COMMIT, the
XLSX packing) does not make a live job look dead; the thread ends with the run. And a
new-table import killed between its table's DDL and its metadata leaves no table behind."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from bases import export, schema_services
from bases import sync as meta_sync
from history import backfill
from history.models import KeptFieldFill
from imports import exports, newtable, recovery, services
from imports.models import ImportJob
from nocoplatform import heartbeat
from tests.imports.test_recovery import (
    _export,
    _names,
    _queued_import,
    _queued_new_table,
    _stall,
    items,  # noqa: F401 - a fixture
    started,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.django_db
Status = ImportJob.Status
STALE = 1  # seconds: a beat every 0.25 s
BLOCK = 3 * STALE


def _beating_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("heartbeat-")]


def _run_in_thread(fn, *args) -> threading.Thread:
    from django.db import connection

    def target():
        try:
            fn(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread


def _sweep_while(thread: threading.Thread, model, pk) -> list[dict]:
    """Sweep every 0.2 s while the run blocks: what each sweep did."""
    sweeps = []
    while thread.is_alive():
        sweeps.append(recovery.recover_jobs())
        assert model.objects.get(pk=pk).recoveries == 0, sweeps
        time.sleep(0.2)
    return sweeps


@pytest.mark.django_db(transaction=True)
def test_an_import_blocked_longer_than_the_threshold_is_not_taken_over(
    items,  # noqa: F811 - the fixture
    actor,
    started,  # noqa: F811 - the fixture
    settings,
    monkeypatch,
):
    """Its last step (the COMMIT of a big import, here a sleep after the rows are written)
    lasts 3× the threshold with no progress written: the sweeps leave it, it ends once."""
    settings.NOCO_JOB_STALE_SECONDS = STALE
    job = _queued_import(actor, items)
    write_rows = services._write_rows
    blocked = threading.Event()

    def slow_commit(*args, **kw):
        write_rows(*args, **kw)
        blocked.set()
        time.sleep(BLOCK)

    monkeypatch.setattr(services, "_write_rows", slow_commit)
    run = _run_in_thread(services.run_import, str(job.pk))
    assert blocked.wait(30)
    sweeps = _sweep_while(run, ImportJob, job.pk)
    run.join()
    assert len(sweeps) >= BLOCK  # the sweeps ran while it was blocked
    assert all(s["requeued"] == s["failed"] == s["restarted"] == 0 for s in sweeps)
    job.refresh_from_db()
    assert (job.status, job.recoveries, job.inserted) == (Status.DONE, 0, 2)
    assert started == [("import", str(job.pk))]  # its own start (on commit), no other
    assert _names(items) == ["apple", "pear", "kiwi", "plum"]  # written once
    # The thread ended with the run, and writes no more.
    assert _beating_threads() == []
    last = job.heartbeat_at
    time.sleep(4 * heartbeat.interval())
    job.refresh_from_db()
    assert job.heartbeat_at == last


@pytest.mark.django_db(transaction=True)
def test_an_export_packing_its_xlsx_longer_than_the_threshold_is_not_taken_over(
    items,  # noqa: F811 - the fixture
    actor,
    started,  # noqa: F811 - the fixture
    settings,
    monkeypatch,
):
    settings.NOCO_JOB_STALE_SECONDS = STALE
    job = _export(actor, items)
    job.format = "xlsx"
    job.save(update_fields=["format"])
    job.refresh_from_db()
    xlsx_file = export.xlsx_file
    blocked = threading.Event()

    @contextlib.contextmanager
    def slow_xlsx(rows, **kw):
        with xlsx_file(rows, **kw) as tmp:
            blocked.set()
            time.sleep(BLOCK)  # the pages are read: no more progress is written
            yield tmp

    monkeypatch.setattr(export, "xlsx_file", slow_xlsx)
    run = _run_in_thread(exports.run_export, str(job.pk))
    assert blocked.wait(30)
    sweeps = _sweep_while(run, type(job), job.pk)
    run.join()
    assert sweeps and all(s["requeued"] == s["failed"] == 0 for s in sweeps)
    job.refresh_from_db()
    assert (job.status, job.recoveries, job.done) == (Status.DONE, 0, 2)
    assert started == [] and _beating_threads() == []


@pytest.mark.django_db(transaction=True)
def test_the_thread_ends_with_a_failed_run(
    items,  # noqa: F811 - the fixture
    actor,
    settings,
    started,  # noqa: F811 - the fixture: no runner thread races the test's own run
    monkeypatch,
):
    settings.NOCO_JOB_STALE_SECONDS = STALE
    job = _queued_import(actor, items)

    def broken(*args, **kw):
        time.sleep(2 * heartbeat.interval())
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(services, "_write_rows", broken)
    services.run_import(str(job.pk))
    job.refresh_from_db()
    assert job.status == Status.FAILED and "the disk is full" in job.error
    assert _beating_threads() == []


@pytest.mark.django_db(transaction=True)
def test_the_thread_only_keeps_its_own_running_run_alive(
    items,  # noqa: F811 - the fixture
    actor,
    settings,
    started,  # noqa: F811 - the fixture: no runner thread races the test's own run
):
    settings.NOCO_JOB_STALE_SECONDS = STALE
    job = _queued_import(actor, items)
    _stall(job)
    old = timezone.now() - timedelta(seconds=300)
    with recovery.alive(job):
        time.sleep(3 * heartbeat.interval())
        job.refresh_from_db()
        assert job.heartbeat_at > old  # beating
        # Taken over by a sweep (the meta DB was unreachable long enough): a new run's.
        ImportJob.objects.filter(pk=job.pk).update(
            heartbeat_at=old, recoveries=job.recoveries + 1
        )
        time.sleep(3 * heartbeat.interval())
        job.refresh_from_db()
        assert job.heartbeat_at == old
        # Ended.
        ImportJob.objects.filter(pk=job.pk).update(
            status=Status.DONE, recoveries=job.recoveries - 1
        )
        time.sleep(3 * heartbeat.interval())
        job.refresh_from_db()
        assert job.heartbeat_at == old
    assert _beating_threads() == []


def test_a_failing_beat_is_tried_again_and_never_reaches_the_job(settings, caplog):
    settings.NOCO_JOB_STALE_SECONDS = STALE
    beats = []

    def beat():
        beats.append(time.monotonic())
        if len(beats) == 1:
            raise OSError("the meta DB hiccups")

    with heartbeat.beating(beat, name="heartbeat-test"):
        time.sleep(4 * heartbeat.interval())
    assert len(beats) >= 2  # the second tick after the failure
    assert "the heartbeat failed" in caplog.text
    assert _beating_threads() == []


@pytest.mark.django_db(transaction=True)
def test_a_slow_fill_chunk_is_not_taken_for_a_stalled_fill(
    items,  # noqa: F811 - the fixture
    actor,
    settings,
    monkeypatch,
):
    """history/backfill.py: a kept field's fill whose chunk outlasts the threshold."""
    settings.NOCO_JOB_STALE_SECONDS = STALE
    settings.NOCO_WEBHOOKS_RUNNER = "manual"  # nothing starts a fill: the test runs it
    items.source.allow_schema_edit = True
    items.source.save()
    field = schema_services.field_create(
        actor=actor, table=items, data={"title": "Created", "uidt": "CreatedTime"}
    )
    KeptFieldFill.objects.update_or_create(
        field=field, defaults={"after": "", "heartbeat_at": timezone.now()}
    )
    resumed = []
    monkeypatch.setattr(
        "history.tasks.start_fill", lambda *a: resumed.append(a)
    )  # a second fill beside the live one is what must not start
    fill = backfill.fill
    blocked = threading.Event()

    def slow_fill(*args, **kw):
        blocked.set()
        time.sleep(BLOCK)  # one slow statement
        return fill(*args, **kw)

    monkeypatch.setattr(backfill, "fill", slow_fill)
    run = _run_in_thread(backfill.run, field.pk)
    assert blocked.wait(30)
    sweeps = []
    while run.is_alive():
        sweeps.append(backfill.resume_stalled())
        time.sleep(0.2)
    run.join()
    assert len(sweeps) >= BLOCK and sum(sweeps) == 0 and resumed == []
    assert not KeptFieldFill.objects.filter(field=field).exists()  # it finished
    assert _beating_threads() == []


# --- a new table's DDL committed, its metadata not ---------------------------------------


class Killed(BaseException):
    """The process ending: nothing of the run's own error handling sees it."""


def _pg_tables(base) -> set[str]:
    with psycopg.connect(django_settings.TEST_POSTGRES_URL) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [f"noco_{base.pk}"],
        ).fetchall()
    return {r[0] for r in rows}


@pytest.fixture
def pg_store(settings, actor, pg_db):
    from bases.services import base_create, base_delete

    settings.NOCO_STORE_URL = settings.TEST_POSTGRES_URL
    base = base_create(actor=actor, title="Scratch")
    yield base
    base_delete(actor=actor, base=base)


def test_a_table_whose_metadata_never_committed_is_dropped_by_the_recovery(
    pg_store,
    actor,
    started,  # noqa: F811 - the fixture
    monkeypatch,
    tmp_path,
):
    job = _queued_new_table(actor, pg_store)
    kept = tmp_path / "upload"
    shutil.copy(
        job.path, kept
    )  # a real kill leaves the upload; the run's `finally` not

    def killed(*args, **kw):  # right after the DDL, inside the metadata's transaction
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(meta_sync, "refresh_table", killed)
        with pytest.raises(Killed):
            newtable.run_new_table(str(job.pk))
    shutil.copy(kept, job.path)
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.table_id == ""
    assert job.table_name in _pg_tables(pg_store)  # the DDL committed
    assert not pg_store.tables.filter(table_name=job.table_name).exists()
    _stall(job)
    assert recovery.recover_jobs()["requeued"] == 1
    job.refresh_from_db()
    assert (job.status, job.table_name) == (Status.PENDING, "")
    assert _pg_tables(pg_store) == set()  # gone from the database
    newtable.run_new_table(str(job.pk))  # run again: one table, its rows
    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    table = pg_store.tables.get()
    assert table.pk == job.table_id and _names(table) == ["kiwi", "plum"]
    assert _pg_tables(pg_store) == {table.table_name}


def test_a_table_whose_metadata_committed_before_the_job_noted_it_is_deleted(
    pg_store,
    actor,
    started,  # noqa: F811 - the fixture
):
    """Killed between table_create's commit and the job's note of the table."""
    job = _queued_new_table(actor, pg_store)
    half = schema_services.table_create(
        actor=actor, base=pg_store, title=job.title, columns=[]
    )
    _stall(job, table_name=half.table_name, source_id=half.source_id)
    assert recovery.recover_jobs()["requeued"] == 1
    assert not pg_store.tables.exists() and _pg_tables(pg_store) == set()


def test_a_table_by_that_name_holding_rows_is_left_alone(
    pg_store,
    actor,
    started,  # noqa: F811 - the fixture
):
    """Not what a killed run leaves (its rows load only after the metadata commits)."""
    job = _queued_new_table(actor, pg_store)
    schema = f"noco_{pg_store.pk}"
    name = 'fruit"; DROP TABLE x; --'
    quoted = '"' + name.replace('"', '""') + '"'
    with psycopg.connect(django_settings.TEST_POSTGRES_URL) as conn:
        conn.execute(f'CREATE TABLE "{schema}".{quoted} (id int)')
        conn.execute(f'INSERT INTO "{schema}".{quoted} VALUES (1)')
    source = pg_store.sources.get()
    _stall(job, table_name=name, source_id=source.pk)
    assert recovery.recover_jobs()["requeued"] == 1
    assert name in _pg_tables(pg_store)
    # Empty, the same name is dropped: quoted, whatever it holds.
    with psycopg.connect(django_settings.TEST_POSTGRES_URL) as conn:
        conn.execute(f'DELETE FROM "{schema}".{quoted}')
    assert schema_services.table_drop_unlisted(source=source, table_name=name)
    assert name not in _pg_tables(pg_store)
