"""The Excel sheet picker of the import into an existing table (imports/services.py with
imports/uploads.py, shared with the new-table import): the workbook kept until the job
starts, another sheet read on the page and through the API, and its files removed."""

from __future__ import annotations

import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports import newtable, services, tasks
from imports.models import ImportJob
from nocoplatform.errors import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(make_table):
    return make_table(
        "sqlite",
        "items",
        "name VARCHAR(50) NOT NULL UNIQUE",
        "qty INTEGER",
        title="Stock",
    )


@pytest.fixture
def inline(monkeypatch):
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    monkeypatch.setattr(tasks, "start", lambda job_id: services.run_import(job_id))


def book() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in {
        "Notes": [["note"], ["hello"]],
        "Stock": [["name", "qty"], ["pen", 3], ["ink", 5]],
    }.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(data: bytes, name="book.xlsx"):
    return SimpleUploadedFile(name, data)


def names(table) -> list:
    from bases import records
    from permissions.checks import SYSTEM

    page = records.list_records(table, {"limit": "100", "sort": "id"}, actor=SYSTEM)
    return [(r["name"], r["qty"]) for r in page]


def test_switch_sheet_then_import(items, actor, inline):
    job = services.job_create(actor=actor, table=items, upload=upload(book()))
    assert job.sheets == ["Notes", "Stock"] and job.sheet == "Notes"
    assert job.header == ["note"] and job.mapping == {}
    workbook, first_csv = job.workbook_path, job.path
    assert os.path.exists(workbook) and os.path.exists(first_csv)

    services.job_choose_sheet(actor=actor, job=job, sheet="Stock")
    job.refresh_from_db()
    assert job.sheet == "Stock" and job.header == ["name", "qty"]
    assert set(job.mapping) == {"0", "1"}  # mapped by name again
    assert services.preview(job)["rows"] == [["pen", "3"], ["ink", "5"]]
    assert not os.path.exists(first_csv) and os.path.exists(workbook)

    with pytest.raises(InvalidInput, match="no sheet called 'Nope'") as exc:
        services.job_choose_sheet(actor=actor, job=job, sheet="Nope")
    assert exc.value.code == "IMPORT_BAD_FILE"

    services.job_start(actor=actor, job=job, mapping=job.mapping)
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert names(items) == [("pen", 3), ("ink", 5)]
    assert not os.path.exists(workbook) and not os.path.exists(job.path)
    with pytest.raises(InvalidInput) as exc:
        services.job_choose_sheet(actor=actor, job=job, sheet="Notes")
    assert exc.value.code == "IMPORT_STARTED"


def test_a_blank_first_sheet_is_skipped(items, actor):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Cover"
    wb.create_sheet("Stock").append(["name", "qty"])
    buf = io.BytesIO()
    wb.save(buf)
    job = services.job_create(actor=actor, table=items, upload=upload(buf.getvalue()))
    assert job.sheets == ["Cover", "Stock"] and job.sheet == "Stock"
    assert job.header == ["name", "qty"]
    with pytest.raises(InvalidInput, match="empty") as exc:
        services.job_choose_sheet(actor=actor, job=job, sheet="Cover")
    assert exc.value.code == "IMPORT_BAD_FILE"
    job.refresh_from_db()
    assert job.sheet == "Stock" and os.path.exists(job.path)  # unchanged


def test_a_csv_has_no_sheets(items, actor):
    job = services.job_create(
        actor=actor, table=items, upload=upload(b"name\nx\n", "a.csv")
    )
    assert job.sheets == [] and job.workbook_path == ""
    with pytest.raises(InvalidInput, match="Only an Excel file"):
        services.job_choose_sheet(actor=actor, job=job, sheet="Sheet1")


def test_cancel_removes_the_workbook(items, actor):
    job = services.job_create(actor=actor, table=items, upload=upload(book()))
    services.job_cancel(actor=actor, job=job)
    assert job.status == "cancelled"
    assert not os.path.exists(job.workbook_path) and not os.path.exists(job.path)


def test_one_upload_helper_for_both_flows(items, actor, settings):
    """The same checks and messages for an existing table and a new one."""
    from bases.services import base_create

    scratch = base_create(actor=actor, title="Scratch")
    settings.NOCO_IMPORT_MAX_SIZE = 10
    for create, target in (
        (services.job_create, {"table": items}),
        (newtable.job_create, {"base": scratch}),
    ):
        with pytest.raises(InvalidInput) as exc:
            create(actor=actor, upload=upload(b"name\n" + b"x" * 20, "a.csv"), **target)
        assert (
            exc.value.code == "IMPORT_BAD_FILE" and "larger than" in exc.value.message
        )
        with pytest.raises(InvalidInput, match="Choose a CSV or Excel file"):
            create(actor=actor, upload=None, **target)


def test_page_sheet_picker(items, web, inline):
    url = f"/bases/{items.base_id}/tables/{items.pk}/import"
    r = web.post(url, {"file": upload(book())})
    assert r.status_code == 302
    page = web.get(r["Location"]).content.decode()
    assert 'name="action" value="sheet"' in page
    assert '<option value="Stock">Stock</option>' in page
    r = web.post(r["Location"], {"action": "sheet", "sheet": "Stock"})
    assert r.status_code == 302
    job = ImportJob.objects.get()
    assert job.sheet == "Stock" and job.status == "new"
    page = web.get(r["Location"]).content.decode()
    assert '<option value="Stock" selected>Stock</option>' in page and "pen" in page
    r = web.post(r["Location"], {"action": "sheet", "sheet": "Nope"})
    assert r.status_code == 400 and "no sheet called" in r.content.decode()
    r = web.post(
        r.wsgi_request.path, {"col-0": job.mapping["0"], "col-1": job.mapping["1"]}
    )
    assert r.status_code == 302
    job.refresh_from_db()
    assert job.status == "done" and names(items) == [("pen", 3), ("ink", 5)]


def test_api_upload_switch_sheet_start(items, api, inline):
    url = f"/api/v2/tables/{items.pk}/import"
    r = api.post(url, {"file": upload(book()), "start": "false"}, format="multipart")
    assert r.status_code == 201, r.content
    job = r.json()
    assert job["status"] == "new" and job["sheets"] == ["Notes", "Stock"]
    assert job["sheet"] == "Notes" and job["rows"] == [["hello"]]
    r = api.patch(f"{url}/{job['id']}", {"sheet": "Stock"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["header"] == ["name", "qty"] and r.json()["types"][1] == "number"
    assert r.json()["rows"] == [["pen", "3"], ["ink", "5"]]
    r = api.patch(f"{url}/{job['id']}", {"sheet": "Nope"}, format="json")
    assert r.status_code == 400 and r.json()["error"] == "IMPORT_BAD_FILE"
    r = api.patch(f"{url}/{job['id']}", {"sheet": 3}, format="json")
    assert r.status_code == 400
    # A refused mapping leaves the job as it was, to start again.
    r = api.post(f"{url}/{job['id']}/start", {"mapping": {"0": ["x"]}}, format="json")
    assert r.status_code == 400 and r.json()["error"] == "INVALID_MAPPING"
    r = api.post(f"{url}/{job['id']}/start", {"mapping": "x"}, format="json")
    assert r.status_code == 400
    r = api.post(f"{url}/{job['id']}/start", {"keyColumn": "name"}, format="json")
    assert r.status_code == 202, r.content
    r = api.get(f"{url}/{job['id']}")
    assert r.json()["status"] == "done" and r.json()["inserted"] == 2
    assert "rows" not in r.json()
    assert names(items) == [("pen", 3), ("ink", 5)]
    r = api.post(f"{url}/{job['id']}/start", {}, format="json")
    assert r.status_code == 400 and r.json()["error"] == "IMPORT_STARTED"
    r = api.patch(f"{url}/{job['id']}", {"sheet": "Notes"}, format="json")
    assert r.status_code == 400 and r.json()["error"] == "IMPORT_STARTED"
