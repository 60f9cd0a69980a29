"""Large exports from the view menu run as background jobs with progress (imports/exports.py,
views/export_pages.py): the file is the direct export's, made as the member who asked, for
them only; cancel stops it; pruning removes old ones."""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from bases import export
from imports import exports
from imports.models import ExportJob
from imports.prune import prune_imports
from permissions.checks import Actor
from permissions.services import field_rule_set, membership_create

pytestmark = pytest.mark.django_db


def _url(demo, view, fmt="csv"):
    return f"/bases/{demo.pk}/views/{view.pk}/export?format={fmt}"


def _direct(client, demo, view, settings, fmt="csv") -> bytes:
    settings.NOCO_EXPORT_JOB_ROWS = 10**9
    r = client.get(_url(demo, view, fmt))
    assert r.status_code == 200 and r.streaming
    return b"".join(r.streaming_content)


def _job(client, demo, view, settings, queued, fmt="csv") -> ExportJob:
    settings.NOCO_EXPORT_JOB_ROWS = 0
    r = client.get(_url(demo, view, fmt))
    assert r.status_code == 302
    job = ExportJob.objects.get(pk=queued[-1])
    assert r["Location"] == f"/bases/{demo.pk}/views/{view.pk}/export/{job.pk}"
    return job


def test_large_csv_export_is_a_job_whose_file_is_the_direct_exports_bytes(
    client, user, demo, view, settings, queued, monkeypatch
):
    client.force_login(user)
    direct = _direct(client, demo, view, settings)
    job = _job(client, demo, view, settings, queued)
    assert job.status == "pending" and job.total == len(direct.splitlines()) - 1
    page = client.get(f"/bases/{demo.pk}/views/{view.pk}/export/{job.pk}")
    assert b"Waiting to start" in page.content and b"Cancel export" in page.content

    # Progress: the count of rows written after each page, as the page shows it.
    monkeypatch.setattr(export, "PAGE", 2)
    seen = []
    real = exports._counted

    def spy(job, pages):
        for p in real(job, pages):
            seen.append(ExportJob.objects.get(pk=job.pk).done)
            yield p

    monkeypatch.setattr(exports, "_counted", spy)
    exports.run_export(str(job.pk))
    job.refresh_from_db()
    assert job.status == "done" and job.done == job.total
    assert seen[:3] == [0, 2, 4]  # each page counted once it is written
    with open(job.path, "rb") as f:
        assert f.read() == direct

    r = client.get(f"/bases/{demo.pk}/views/{view.pk}/export/{job.pk}/file")
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == direct
    assert r["Content-Disposition"].startswith(
        'attachment; filename="projects - Active.csv"'
    )
    html = client.get(f"/bases/{demo.pk}/views/{view.pk}/export/{job.pk}").content
    assert b"data-auto-download" in html and b"Exported" in html


def test_progress_text_while_running(client, user, demo, view, settings, queued):
    client.force_login(user)
    job = _job(client, demo, view, settings, queued)
    ExportJob.objects.filter(pk=job.pk).update(
        status="running",
        done=3,
        total=120_000,
        started_at=timezone.now() - timedelta(seconds=1),
    )
    r = client.get(
        f"/bases/{demo.pk}/views/{view.pk}/export/{job.pk}", HTTP_HX_REQUEST="true"
    )
    text = r.content.decode()
    assert 'Exporting… <strong class="export-count">3</strong> of 120,000 rows' in text
    assert 'max="120000" value="3"' in text and "left" in text and "hx-get" in text


def test_xlsx_job(client, user, demo, view, settings, queued):
    client.force_login(user)
    direct = _direct(client, demo, view, settings, "xlsx")
    job = _job(client, demo, view, settings, queued, "xlsx")
    exports.run_export(str(job.pk))
    r = client.get(f"/bases/{demo.pk}/views/{view.pk}/export/{job.pk}/file")
    got = load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)
    want = load_workbook(io.BytesIO(direct), read_only=True)
    assert list(got.active.iter_rows(values_only=True)) == list(
        want.active.iter_rows(values_only=True)
    )
    assert got.active.title == "Active"


def test_only_its_owner_reads_it(
    client, user, other_user, demo, view, settings, queued
):
    client.force_login(user)
    job = _job(client, demo, view, settings, queued)
    exports.run_export(str(job.pk))
    membership_create(base=demo, user=other_user, role="owner")
    client.force_login(other_user)
    base = f"/bases/{demo.pk}/views/{view.pk}/export/{job.pk}"
    assert client.get(base).status_code == 404
    assert client.get(base + "/file").status_code == 404
    assert client.post(base + "/cancel").status_code == 404
    assert (
        client.get(f"/bases/{demo.pk}/views/{view.pk}/export/nope").status_code == 404
    )
    client.logout()
    assert client.get(base + "/file").status_code == 302  # to the sign-in


def test_hidden_fields_never_in_the_file(
    client, user, other_user, demo, projects, view, settings, queued
):
    field_rule_set(
        actor=Actor(user=user),
        field=projects.fields.get(title="budget"),
        hidden_below="creator",
    )
    membership_create(base=demo, user=other_user, role="viewer")
    client.force_login(other_user)
    direct = _direct(client, demo, view, settings)
    job = _job(client, demo, view, settings, queued)
    exports.run_export(str(job.pk))
    job.refresh_from_db()
    with open(job.path, "rb") as f:
        body = f.read()
    assert body == direct
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert "budget" not in header and "name" in header


def test_cancel_before_and_while_running(
    client, user, demo, view, settings, queued, monkeypatch
):
    client.force_login(user)
    job = _job(client, demo, view, settings, queued)
    url = f"/bases/{demo.pk}/views/{view.pk}/export/{job.pk}"
    r = client.post(url + "/cancel", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and b"Export cancelled." in r.content
    exports.run_export(str(job.pk))  # the queued run finds it cancelled
    job.refresh_from_db()
    assert job.status == "cancelled" and not job.path
    assert client.get(url + "/file").status_code == 404

    # Running: it stops after the page it is writing; no file is left.
    job = _job(client, demo, view, settings, queued)
    ExportJob.objects.filter(pk=job.pk).update(status="running")
    exports.job_cancel(job)
    ExportJob.objects.filter(pk=job.pk).update(status="pending")  # now let it run
    monkeypatch.setattr(export, "PAGE", 2)
    exports.run_export(str(job.pk))
    job.refresh_from_db()
    assert job.status == "cancelled" and job.done == 2
    assert not os.path.exists(exports.export_path(job))
    assert not os.path.exists(exports.export_path(job) + ".part")
    # A finished job cannot be cancelled (its page shows it as it is).
    job = _job(client, demo, view, settings, queued)
    exports.run_export(str(job.pk))
    r = client.post(url.rsplit("/", 1)[0] + f"/{job.pk}/cancel")
    assert r.status_code == 302
    job.refresh_from_db()
    assert job.status == "done"


def test_small_views_download_directly(client, user, demo, view, settings, queued):
    client.force_login(user)
    settings.NOCO_EXPORT_JOB_ROWS = 10_000
    r = client.get(_url(demo, view))
    assert r.status_code == 200 and r.streaming and not queued


def test_pruning_covers_export_files(client, user, demo, view, settings, queued):
    client.force_login(user)
    old = _job(client, demo, view, settings, queued)
    exports.run_export(str(old.pk))
    kept = _job(client, demo, view, settings, queued)
    exports.run_export(str(kept.pk))
    old.refresh_from_db()
    kept.refresh_from_db()
    ExportJob.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=30)
    )
    then = time.time() - 30 * 86400
    os.utime(kept.path, (then, then))  # an old file of a kept job stays
    counts = prune_imports(days=7)
    assert counts["jobs"] == 1 and counts["files"] >= 1
    assert not ExportJob.objects.filter(pk=old.pk).exists()
    assert not os.path.exists(old.path)
    assert os.path.exists(kept.path)
