"""CSV import into an existing table (imports/): detection, preview and mapping, the job run
all or nothing with its progress, and every bad file refused with nothing written."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import Activity
from bases import records
from imports import csvfile, services, tasks
from imports.models import ImportJob
from nocoplatform.errors import InvalidInput
from permissions.checks import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(make_table):
    return make_table(
        "sqlite",
        "items",
        "name VARCHAR(50) NOT NULL UNIQUE",
        "qty INTEGER",
        "price DECIMAL(10,2)",
        title="Stock",
    )


@pytest.fixture
def inline(monkeypatch):
    """Run started jobs at once, in the test's thread and transaction."""
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    monkeypatch.setattr(tasks, "start", lambda job_id: services.run_import(job_id))


def upload(data: bytes, name="data.csv"):
    return SimpleUploadedFile(name, data, content_type="text/csv")


def rows(table):
    page = records.list_records(table, {"limit": "100", "sort": "id"}, actor=SYSTEM)
    return [(r["name"], r["qty"]) for r in page]


def test_detects_delimiter_encoding_and_types(items, actor):
    data = (
        "Name;Qty;Price;When\r\nÄpfel;3;1,50;2026-01-02\r\nBirnen;;2,00;2026-02-03\r\n"
    )
    job = services.job_create(
        actor=actor, table=items, upload=upload(data.encode("utf-16"))
    )
    assert (job.encoding, job.delimiter) == ("utf-16", ";")
    assert job.header == ["Name", "Qty", "Price", "When"]
    titles = {f.id: f.title for f in items.fields.all()}
    assert {titles[v] for v in job.mapping.values()} == {"name", "qty", "price"}
    p = services.preview(job)
    assert p["rows"][0][0] == "Äpfel"
    assert p["types"] == ["text", "number", "decimal", "date"]
    latin = services.job_create(
        actor=actor, table=items, upload=upload("name\ncafé\n".encode("latin-1"))
    )
    assert latin.encoding == "latin-1"
    assert services.preview(latin)["rows"] == [["café"]]


def test_import_all_rows_with_progress(items, actor, inline):
    body = "name,qty,ignored\n" + "".join(f"item {i},{i},x\n" for i in range(2500))
    body += "=HYPERLINK(1),7,x\n"
    job = services.job_create(actor=actor, table=items, upload=upload(body.encode()))
    services.job_start(actor=actor, job=job, mapping=job.mapping)
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert (job.done, job.total) == (2501, 2501)
    assert records.count_records(items, actor=SYSTEM) == 2501
    assert rows(items)[0] == ("item 0", 0)
    last = records.list_records(items, {"sort": "-id", "limit": "1"}, actor=SYSTEM)
    assert (last[0]["name"], last[0]["qty"]) == ("=HYPERLINK(1)", 7)  # stays text
    # The base's activity log says who imported what (audit/).
    entry = Activity.objects.get(base_id=items.base_id, action="import.done")
    assert entry.user == actor.user and entry.details["rows"] == 2501


def test_refused_rows_listed_and_nothing_imported(items, actor, inline):
    body = "name,qty\n" + "".join(f"n{i},{i}\n" for i in range(25))
    body += "bad,many\nworse,1.5.2\n"
    job = services.job_create(actor=actor, table=items, upload=upload(body.encode()))
    services.job_start(actor=actor, job=job, mapping=job.mapping)
    job.refresh_from_db()
    assert job.status == "failed" and job.error.startswith("2 rows refused")
    assert [e["line"] for e in job.errors] == [27, 28]
    assert all("qty" in e["message"] for e in job.errors)
    assert rows(items) == []
    failed = Activity.objects.get(base_id=items.base_id, action="import.failed")
    assert failed.details["error"].startswith("2 rows refused")


def test_a_row_the_database_refuses_rolls_back_every_batch(
    items, actor, inline, monkeypatch
):
    monkeypatch.setattr(services, "BATCH", 10)
    # A duplicate name: only the database's UNIQUE constraint refuses it, at the insert.
    body = "name,qty\n" + "".join(f"n{i},{i}\n" for i in range(25)) + "n3,3\n"
    job = services.job_create(actor=actor, table=items, upload=upload(body.encode()))
    services.job_start(actor=actor, job=job, mapping=job.mapping)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error.startswith("Line 27:") and "Nothing was imported" in job.error
    assert rows(items) == []  # the first two batches rolled back with it


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50, "binary"),
        (b"", "empty"),
        (b"name\n" + b"a" * (csvfile.MAX_LINE + 10) + b"\n", "longer than"),
        (
            (",".join(f"c{i}" for i in range(csvfile.MAX_COLUMNS + 1)) + "\n").encode(),
            "columns",
        ),
    ],
    ids=["binary", "empty", "huge-line", "too-many-columns"],
)
def test_bad_files_refused(items, actor, data, message):
    before = ImportJob.objects.count()
    with pytest.raises(InvalidInput) as exc:
        services.job_create(actor=actor, table=items, upload=upload(data))
    assert getattr(exc.value, "code", "") == "IMPORT_BAD_FILE"
    assert message in exc.value.message
    assert ImportJob.objects.count() == before


def test_a_zip_named_csv_is_refused(items, actor):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.csv", "a" * 100_000)
    with pytest.raises(InvalidInput) as exc:
        services.job_create(actor=actor, table=items, upload=upload(buf.getvalue()))
    assert exc.value.code == "IMPORT_BAD_FILE"


def test_mapping_checked(items, actor):
    job = services.job_create(
        actor=actor, table=items, upload=upload(b"name,qty\na,1\n")
    )
    with pytest.raises(InvalidInput) as exc:
        services.job_start(actor=actor, job=job, mapping={"0": "nope"})
    assert exc.value.code == "INVALID_MAPPING"
    with pytest.raises(InvalidInput) as exc:
        services.job_start(actor=actor, job=job, mapping={})
    assert exc.value.code == "INVALID_MAPPING"


def test_a_refused_start_keeps_the_chosen_mapping(items, web):
    url = f"/bases/{items.base.pk}/tables/{items.pk}/import"
    r = web.post(url, {"file": upload(b"name,qty\npage,5\n")})
    job = ImportJob.objects.get()
    name = job.mapping["0"]
    page = web.post(r["Location"], {"col-0": name, "col-1": name})
    assert page.status_code == 400 and b"mapped twice" in page.content
    # Both selects show the person's choice (the guess mapped qty to its own field).
    assert page.content.decode().count(f'value="{name}" selected') == 2
    job.refresh_from_db()
    assert job.status == "new"


def test_pages_and_api(items, web, api, inline):
    base = items.base
    url = f"/bases/{base.pk}/tables/{items.pk}/import"
    assert web.get(url).status_code == 200
    r = web.post(url, {"file": upload(b"name,qty\npage,5\n")})
    assert r.status_code == 302
    page = web.get(r["Location"])
    assert page.status_code == 200 and b"page" in page.content
    job = ImportJob.objects.get()
    r = web.post(r["Location"], {"col-0": job.mapping["0"], "col-1": ""})
    assert r.status_code == 302
    job.refresh_from_db()
    assert job.status == "done" and rows(items) == [("page", None)]
    r = web.post(url, {"file": upload(b"\x00\x01\x02binary")})
    assert r.status_code == 400 and b"binary" in r.content
    r = api.post(
        f"/api/v2/tables/{items.pk}/import",
        {"file": upload(b"name,qty\napi,9\n")},
        format="multipart",
    )
    assert r.status_code == 202, r.content
    r = api.get(f"/api/v2/tables/{items.pk}/import/{r.json()['id']}")
    assert r.json()["status"] == "done" and r.json()["done"] == 1
    assert ("api", 9) in rows(items)


def _xlsx(rows_, sheet="Data") -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Other"
    ws = wb.create_sheet(sheet)
    for row in rows_:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_sheet_imported_with_formulas_as_text(items, actor, inline):
    data = _xlsx([["name", "qty"], ["=1+1", 3], ["plain", 4.0]])
    job = services.job_create(
        actor=actor, table=items, upload=upload(data, "book.xlsx"), sheet="Data"
    )
    assert job.header == ["name", "qty"]
    services.job_start(actor=actor, job=job, mapping=job.mapping)
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert rows(items) == [("=1+1", 3), ("plain", 4)]
    with pytest.raises(InvalidInput) as exc:
        services.job_create(
            actor=actor, table=items, upload=upload(data, "b.xlsx"), sheet="Nope"
        )
    assert "no sheet" in exc.value.message


def test_zip_bomb_xlsx_refused(items, actor):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(InvalidInput) as exc:
        services.job_create(
            actor=actor, table=items, upload=upload(buf.getvalue(), "bomb.xlsx")
        )
    assert exc.value.code == "IMPORT_BAD_FILE" and "zip bomb" in exc.value.message
