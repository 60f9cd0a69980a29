"""Retention of imports (imports/prune.py): old finished or never-started jobs and their
files deleted, files of no job too; a queued or running job, and anything recent, kept."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from imports import refused, uploads
from imports.models import ImportJob, NewTableJob
from imports.prune import prune_imports

pytestmark = pytest.mark.django_db
DAY = 86400


@pytest.fixture
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.NOCO_IMPORT_KEEP_DAYS = 7
    return uploads.imports_dir()


@pytest.fixture
def items(make_table):
    return make_table("sqlite", "items", "name VARCHAR(50)", title="Stock")


def _file(var, name: str, age_days: float = 0) -> str:
    path = os.path.join(var, name)
    with open(path, "w") as f:
        f.write("name\nx\n")
    then = time.time() - age_days * DAY
    os.utime(path, (then, then))
    return path


def _job(items, user, var, status, age_days, name, workbook=False) -> ImportJob:
    job = ImportJob.objects.create(
        table=items,
        user=user,
        file_name="a.csv",
        path=_file(var, f"{name}.upload.1234abcd.csv", age_days),
        workbook_path=_file(var, f"{name}.upload", age_days) if workbook else "",
        encoding="utf-8",
        delimiter=",",
        header=["name"],
        status=status,
    )
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(days=age_days)
    )
    return job


def test_old_jobs_and_files_pruned_running_and_recent_kept(items, user, var):
    new_old = _job(items, user, var, "new", 8, "aaaa", workbook=True)
    done_old = _job(items, user, var, "failed", 30, "bbbb")
    refused_csv = _file(var, f"{done_old.pk}.refused.csv", 30)
    running_old = _job(items, user, var, "running", 30, "cccc")
    running_refused = _file(var, f"{running_old.pk}.refused.csv", 30)
    running_spool = _file(var, "cccc.upload.1234abcd.csv.copy", 30)
    pending_old = _job(items, user, var, "pending", 30, "dddd")
    new_recent = _job(items, user, var, "new", 6, "eeee", workbook=True)
    table_job = NewTableJob.objects.create(
        base=items.base,
        user=user,
        file_name="b.csv",
        path=_file(var, "ffff.upload", 9),
        encoding="utf-8",
        delimiter=",",
        title="T",
    )
    NewTableJob.objects.filter(pk=table_job.pk).update(
        created_at=timezone.now() - timedelta(days=9), status="done"
    )
    orphan_old = _file(var, "9999.upload.abcd0123.csv", 10)
    orphan_recent = _file(var, "8888.upload", 1)

    counts = prune_imports()

    assert counts == {"jobs": 3, "files": 6}
    assert set(ImportJob.objects.values_list("pk", flat=True)) == {
        running_old.pk,
        pending_old.pk,
        new_recent.pk,
    }
    assert not NewTableJob.objects.exists()
    gone = [new_old.path, new_old.workbook_path, done_old.path, refused_csv]
    gone += [table_job.path, orphan_old]
    assert not [p for p in gone if os.path.exists(p)]
    kept = [running_old.path, running_refused, running_spool, pending_old.path]
    kept += [new_recent.path, new_recent.workbook_path, orphan_recent]
    assert all(os.path.exists(p) for p in kept)
    assert prune_imports() == {"jobs": 0, "files": 0}


def test_zero_keeps_everything(items, user, var, settings):
    settings.NOCO_IMPORT_KEEP_DAYS = 0
    job = _job(items, user, var, "done", 400, "aaaa")
    orphan = _file(var, "bbbb.upload", 400)
    assert prune_imports() == {"jobs": 0, "files": 0}
    assert ImportJob.objects.filter(pk=job.pk).exists() and os.path.exists(orphan)


def test_command_and_hourly_pass(items, user, var):
    _job(items, user, var, "done", 5, "aaaa")
    out = io.StringIO()
    call_command("prune_imports", stdout=out)
    assert out.getvalue().strip() == "0 job(s), 0 file(s)"
    call_command("prune_imports", "--days", "3", stdout=out)
    assert "1 job(s), 1 file(s)" in out.getvalue()
    with pytest.raises(Exception, match="at least 1"):
        call_command("prune_imports", "--days", "0")
    # The hourly pass (embedded dispatcher and the Celery beat's sweep) runs it too.
    from webhooks import tasks

    job = _job(items, user, var, "cancelled", 8, "bbbb")
    tasks._last_prune[0] = time.monotonic() - 7200  # an hour has passed
    tasks.sweep_logs()
    assert not ImportJob.objects.filter(pk=job.pk).exists()
    assert not os.path.exists(job.path)


def test_refused_csv_path_is_the_jobs(items, user, var):
    """The prune finds refused-row CSVs by the job's id (imports/refused.path)."""
    job = _job(items, user, var, "failed", 1, "aaaa")
    assert os.path.basename(refused.path(job)).split(".")[0] == str(job.pk)
