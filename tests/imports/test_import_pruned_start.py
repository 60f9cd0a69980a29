"""The prune (imports/prune.py) may delete an old upload — its job row, its file — just as
its user presses start: every lookup and start path then answers 404 IMPORT_NOT_FOUND (a
JSON error in the API, a message on the page), never a 500. Both flows: into an existing
table (imports/services.py) and into a new table (imports/newtable.py)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from imports import newtable, services, tasks
from imports.models import ImportJob, NewTableJob
from imports.prune import prune_imports
from nocoplatform.errors import NotFound

pytestmark = pytest.mark.django_db
CSV = "name,qty\nplum,1\nfig,2\n"


@pytest.fixture(autouse=True)
def queued(monkeypatch, settings, tmp_path):
    """Started jobs are only queued (never run); uploads in a directory of the test's."""
    settings.VAR_DIR = tmp_path / "var"
    settings.NOCO_IMPORT_KEEP_DAYS = 7
    runs = []
    monkeypatch.setattr(tasks, "start", runs.append)
    monkeypatch.setattr(tasks, "start_new_table", runs.append)
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    return runs


@pytest.fixture
def items(make_table):
    return make_table(
        "sqlite", "items", "name VARCHAR(50)", "qty INTEGER", allow_schema_edit=True
    )


def upload(name="data.csv"):
    return SimpleUploadedFile(name, CSV.encode(), content_type="text/csv")


def _age(job, days=30):
    type(job).objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(days=days)
    )


def test_new_table_start_after_the_prune(items, actor, queued):
    base = items.base
    job = newtable.job_create(actor=actor, base=base, upload=upload())
    stale = NewTableJob.objects.get(pk=job.pk)  # the page read it…
    _age(job)
    assert prune_imports()["jobs"] == 1  # …then the prune took it
    with pytest.raises(NotFound) as exc:
        newtable.job_start(actor=actor, job=stale)
    assert exc.value.code == "IMPORT_NOT_FOUND"
    assert queued == [] and not NewTableJob.objects.exists()
    # Only its file gone: 404 too, and the job is left as it was.
    job = newtable.job_create(actor=actor, base=base, upload=upload())
    os.remove(job.path)
    with pytest.raises(NotFound):
        newtable.job_start(actor=actor, job=job)
    job.refresh_from_db()
    assert job.status == "new" and queued == []
    with pytest.raises(NotFound):
        newtable.preview(job)
    # Only its row gone (the prune deletes the row first, then the files): 404.
    job = newtable.job_create(actor=actor, base=base, upload=upload())
    NewTableJob.objects.filter(pk=job.pk).delete()
    with pytest.raises(NotFound):
        newtable.job_start(actor=actor, job=job)
    assert queued == []


def test_existing_table_start_after_the_prune(items, actor, queued):
    job = services.job_create(actor=actor, table=items, upload=upload())
    stale = ImportJob.objects.get(pk=job.pk)
    _age(job)
    assert prune_imports()["jobs"] == 1
    with pytest.raises(NotFound) as exc:
        services.job_start(actor=actor, job=stale, mapping=stale.mapping)
    assert exc.value.code == "IMPORT_NOT_FOUND"
    job = services.job_create(actor=actor, table=items, upload=upload())
    os.remove(job.path)
    with pytest.raises(NotFound):
        services.job_start(actor=actor, job=job, mapping=job.mapping)
    job.refresh_from_db()
    assert job.status == "new" and queued == []
    job = services.job_create(actor=actor, table=items, upload=upload())
    ImportJob.objects.filter(pk=job.pk).delete()
    with pytest.raises(NotFound):
        services.job_start(actor=actor, job=job, mapping=job.mapping)
    assert queued == []


def test_a_start_that_wins_keeps_the_job(items, actor, queued):
    """Started first, the job is queued: the prune leaves it and its file alone."""
    job = newtable.job_create(actor=actor, base=items.base, upload=upload())
    _age(job)
    newtable.job_start(actor=actor, job=job)
    assert prune_imports()["jobs"] == 0
    assert os.path.exists(job.path) and queued == [str(job.pk)]


def test_api_answers_404(items, api):
    url = f"/api/v2/meta/bases/{items.base_id}/import"
    job = api.post(url, {"file": upload()}, format="multipart").json()
    os.remove(NewTableJob.objects.get(pk=job["id"]).path)
    r = api.post(f"{url}/{job['id']}/start", {}, format="json")
    assert r.status_code == 404 and r.json()["error"] == "IMPORT_NOT_FOUND"
    assert "upload the file again" in r.json()["message"]
    r = api.get(f"{url}/{job['id']}")
    assert r.status_code == 404 and r.json()["error"] == "IMPORT_NOT_FOUND"
    NewTableJob.objects.filter(pk=job["id"]).delete()
    for r in (
        api.post(f"{url}/{job['id']}/start", {}, format="json"),
        api.get(f"{url}/{job['id']}"),
        api.patch(f"{url}/{job['id']}", {"sheet": "A"}, format="json"),
        api.post(f"{url}/{job['id']}/cancel"),
    ):
        assert r.status_code == 404 and r.json()["error"] == "IMPORT_NOT_FOUND"
    # Into an existing table.
    url = f"/api/v2/tables/{items.pk}/import"
    job = api.post(url, {"file": upload(), "start": "false"}, format="multipart")
    job = job.json()
    os.remove(ImportJob.objects.get(pk=job["id"]).path)
    r = api.post(f"{url}/{job['id']}/start", {}, format="json")
    assert r.status_code == 404 and r.json()["error"] == "IMPORT_NOT_FOUND"
    assert api.get(f"{url}/{job['id']}").status_code == 404
    ImportJob.objects.filter(pk=job["id"]).delete()
    r = api.post(f"{url}/{job['id']}/start", {}, format="json")
    assert r.status_code == 404 and r.json()["error"] == "IMPORT_NOT_FOUND"


def test_pages_say_so(items, actor, web):
    base = items.base
    job = newtable.job_create(actor=actor, base=base, upload=upload())
    os.remove(job.path)
    url = f"/bases/{base.pk}/import/{job.pk}"
    r = web.get(url)
    assert r.status_code == 404 and b"upload the file again" in r.content
    assert f'href="/bases/{base.pk}/import"'.encode() in r.content
    assert b'name="type-0"' not in r.content
    r = web.post(url, {"table_title": "Late", "type-0": "text", "type-1": "text"})
    assert r.status_code == 404 and b"upload the file again" in r.content
    NewTableJob.objects.filter(pk=job.pk).delete()
    assert web.get(url).status_code == 404
    # Into an existing table.
    job = services.job_create(actor=actor, table=items, upload=upload())
    os.remove(job.path)
    url = f"/bases/{base.pk}/tables/{items.pk}/import/{job.pk}"
    r = web.get(url)
    assert r.status_code == 404 and b"upload the file again" in r.content
    assert f'href="{url.rsplit("/", 1)[0]}"'.encode() in r.content
    assert b'name="col-0"' not in r.content  # no form to start what is gone
    r = web.post(url, {"col-0": job.mapping.get("0", "")})
    assert r.status_code == 404 and b"upload the file again" in r.content
