"""Import a file into a NEW table (imports/newtable.py): type guesses and overrides, the
table made through the schema services, COPY on the PostgreSQL built-in store and the insert
path elsewhere, all or nothing, roles, pages, API and the Excel sheet picker."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import Activity
from bases import records
from bases.services import base_create, base_delete
from imports import coltypes, newtable, tasks
from imports.models import NewTableJob
from nocoplatform.errors import Conflict, Forbidden, InvalidInput
from permissions.checks import SYSTEM, Actor
from permissions.services import membership_create

pytestmark = pytest.mark.django_db

PEOPLE = (
    "Name;Age;Height;Born;Active;Team;Email;Site;Code\r\n"
    "Ann;31;1,72;24/12/1990;yes;red;ann@example.com;https://ann.example;007\r\n"
    "Bob;45;1,80;13/01/1980;no;blue;bob@example.com;https://bob.example;010\r\n"
    "Cid;;1,65;01/02/2000;x;red;cid@example.com;https://cid.example;123\r\n"
    "Dee;28;1,70;05/06/1995;;red;dee@example.com;https://dee.example;124\r\n"
    "Eve;50;1,60;07/08/1970;yes;blue;eve@example.com;https://eve.example;125\r\n"
    "Fay;33;1,75;09/10/1985;no;red;fay@example.com;https://fay.example;126\r\n"
)


@pytest.fixture(params=["pg", "sqlite"])
def store(request, settings, actor):
    """A base from scratch on the built-in store: PostgreSQL (COPY) or SQLite (inserts)."""
    if request.param == "pg":
        request.getfixturevalue("pg_db")  # skips when PostgreSQL is not there
        settings.NOCO_STORE_URL = settings.TEST_POSTGRES_URL
    base = base_create(actor=actor, title="Scratch")
    yield base
    base_delete(actor=actor, base=base)


@pytest.fixture
def inline(monkeypatch):
    """Run started jobs at once, in the test's thread."""
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    monkeypatch.setattr(
        tasks, "start_new_table", lambda job_id: newtable.run_new_table(job_id)
    )


def upload(data: bytes | str, name="people.csv"):
    if isinstance(data, str):
        data = data.encode()
    return SimpleUploadedFile(name, data, content_type="text/csv")


def all_rows(table):
    page = records.list_records(table, {"limit": "100", "sort": "Id"}, actor=SYSTEM)
    return list(page)


def test_types_guessed_from_the_values():
    assert coltypes.detect(["1", "-2", ""])["type"] == "number"
    assert coltypes.detect(["007", "12"])["type"] == "text"  # a code keeps its zeros
    d = coltypes.detect(["1,5", "2,25"])
    assert (d["type"], d["decimalSep"], d["precision"]) == ("decimal", ",", 2)
    assert coltypes.detect(["2026-01-02", "1999-12-31"])["type"] == "date"
    assert coltypes.detect(["12/24/2026", "01/02/2026"])["dateOrder"] == "mdy"
    assert coltypes.detect(["24/12/2026", "01/02/2026"])["dateOrder"] == "dmy"
    assert coltypes.detect(["yes", "no", "x"])["type"] == "checkbox"
    assert coltypes.detect(["a@b.io", "c@d.org"])["type"] == "email"
    assert coltypes.detect(["https://a.io/x", "http://b.org"])["type"] == "url"
    assert coltypes.detect(["red", "blue", "red", "red", "blue", "red"])["type"] == (
        "select"
    )
    assert coltypes.detect(["Ann", "Bob", "Cid"])["type"] == "text"
    assert coltypes.detect(["x" * 300])["type"] == "longtext"


def test_new_table_from_csv(store, actor, inline, monkeypatch):
    loads = []
    for name, module in (("load", newtable.copyload), ("_insert", newtable)):
        real = getattr(module, name)
        monkeypatch.setattr(
            module,
            name,
            lambda *a, _real=real, _name=name, **kw: (
                loads.append(_name) or _real(*a, **kw)
            ),
        )
    job = newtable.job_create(actor=actor, base=store, upload=upload(PEOPLE))
    assert job.title == "people" and job.delimiter == ";"
    assert [c["type"] for c in job.columns] == [
        "text",
        "number",
        "decimal",
        "date",
        "checkbox",
        "select",
        "email",
        "url",
        "text",
    ]
    assert newtable.preview(job)["rows"][0][0] == "Ann"
    newtable.job_start(actor=actor, job=job)
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert (job.done, job.total) == (6, 6)
    pg = store.sources.get().kind == "pg"
    assert loads == (["load"] if pg else ["_insert"])  # COPY on the PostgreSQL store
    table = store.tables.get(pk=job.table_id)
    assert table.title == "people"
    fields = {f.title: f for f in table.fields.all()}
    assert fields["Team"].uidt == "SingleSelect"
    assert [c["title"] for c in fields["Team"].options["choices"]] == ["red", "blue"]
    rows = all_rows(table)
    assert len(rows) == 6
    ann, cid = rows[0], rows[2]
    assert ann["Name"] == "Ann" and ann["Age"] == 31
    assert decimal.Decimal(str(ann["Height"])) == decimal.Decimal("1.72")
    assert ann["Born"] in ("1990-12-24", dt.date(1990, 12, 24))
    assert ann["Active"] is True and cid["Active"] is True  # "x" ticks
    assert cid["Age"] is None and ann["Code"] == "007"
    assert ann["Email"] == "ann@example.com" and ann["Team"] == "red"
    # The schema services made it: the activity log has the table and the import.
    actions = list(
        Activity.objects.filter(base_id=store.pk).values_list("action", flat=True)
    )
    assert "table.create" in actions and "import.done" in actions
    # The name is taken now: the next import of the same file proposes another one.
    again = newtable.job_create(actor=actor, base=store, upload=upload(PEOPLE))
    assert again.title == "people 2"


def test_user_overrides_types_and_skips(store, actor, inline):
    job = newtable.job_create(actor=actor, base=store, upload=upload(PEOPLE))
    columns = [dict(c) for c in job.columns]
    columns[1]["type"] = "text"  # Age as text
    columns[5]["type"] = "skip"  # no Team
    columns[8] = {"title": "Code number", "type": "number"}
    newtable.job_start(actor=actor, job=job, title="Staff", columns=columns)
    job.refresh_from_db()
    assert job.status == "done", job.error
    table = store.tables.get(title="Staff")
    fields = {f.title: f.uidt for f in table.fields.all()}
    assert fields["Age"] == "SingleLineText" and "Team" not in fields
    assert fields["Code number"] == "Number"
    first = all_rows(table)[0]
    assert first["Age"] == "31" and first["Code number"] == 7


def test_refused_row_leaves_nothing_behind(store, actor, inline):
    body = "Name,Qty\n" + "".join(f"n{i},{i}\n" for i in range(30))
    body += "bad,many\nworse,1.5\n"
    job = newtable.job_create(actor=actor, base=store, upload=upload(body, "stock.csv"))
    assert job.columns[1]["type"] == "text"  # the sample saw "many"
    columns = [dict(c) for c in job.columns]
    columns[1]["type"] = "number"
    newtable.job_start(actor=actor, job=job, columns=columns)
    job.refresh_from_db()
    assert job.status == "failed" and job.error.startswith("2 rows refused")
    assert [e["line"] for e in job.errors] == [32, 33]
    assert job.errors[0]["message"].startswith("Qty: ")
    assert not store.tables.filter(title="stock").exists() and not job.table_id
    assert not Activity.objects.filter(base_id=store.pk, action="table.create").exists()
    assert Activity.objects.filter(base_id=store.pk, action="import.failed").exists()


def test_a_failed_load_drops_the_new_table(store, actor, inline, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(newtable.copyload, "load", broken)
    monkeypatch.setattr(newtable, "_insert", broken)
    job = newtable.job_create(actor=actor, base=store, upload=upload(PEOPLE))
    newtable.job_start(actor=actor, job=job)
    job.refresh_from_db()
    assert job.status == "failed" and "went away" in job.error
    assert not store.tables.filter(title="people").exists()
    actions = list(
        Activity.objects.filter(base_id=store.pk).values_list("action", flat=True)
    )
    assert "table.create" in actions and "table.delete" in actions


def test_columns_and_name_checked(store, actor):
    job = newtable.job_create(actor=actor, base=store, upload=upload(PEOPLE))
    with pytest.raises(InvalidInput) as exc:
        newtable.job_start(actor=actor, job=job, columns=job.columns[:2])
    assert exc.value.code == "INVALID_COLUMNS"
    bad = [dict(c) for c in job.columns]
    bad[0]["type"] = "formula"
    with pytest.raises(InvalidInput, match="unknown type"):
        newtable.job_start(actor=actor, job=job, columns=bad)
    twice = [dict(c) for c in job.columns]
    twice[1]["title"] = "name"
    with pytest.raises(InvalidInput, match="Two fields"):
        newtable.job_start(actor=actor, job=job, columns=twice)
    with pytest.raises(InvalidInput, match="at least one"):
        newtable.job_start(
            actor=actor, job=job, columns=[{"type": "skip"}] * len(job.header)
        )
    newtable.job_create(actor=actor, base=store, upload=upload("a\n1\n", "Taken.csv"))
    from bases.schema_services import table_create

    table_create(actor=actor, base=store, title="Taken")
    with pytest.raises(Conflict):
        newtable.job_start(actor=actor, job=job, title="taken")


def test_an_id_column_gets_its_own_name(store, actor, inline):
    job = newtable.job_create(
        actor=actor, base=store, upload=upload("id,Name\n7,a\n8,b\n", "ids.csv")
    )
    assert [c["title"] for c in job.columns] == ["id 2", "Name"]
    newtable.job_start(actor=actor, job=job)
    job.refresh_from_db()
    assert job.status == "done", job.error
    rows = all_rows(store.tables.get(pk=job.table_id))
    assert [(r["id 2"], r["Name"]) for r in rows] == [(7, "a"), (8, "b")]


@pytest.mark.parametrize("role", ["viewer", "commenter", "editor"])
def test_below_creator_refused(store, actor, other_user, role):
    membership_create(base=store, user=other_user, role=role)
    them = Actor(user=other_user)
    with pytest.raises(Forbidden):
        newtable.job_create(actor=them, base=store, upload=upload(PEOPLE))
    job = newtable.job_create(actor=actor, base=store, upload=upload(PEOPLE))
    with pytest.raises(Forbidden):
        newtable.job_start(actor=them, job=job)


def _xlsx(sheets: dict) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_sheet_picker(store, actor, inline):
    data = _xlsx(
        {
            "Notes": [["note"], ["hello"]],
            "Orders": [
                ["Item", "Qty", "When"],
                ["pen", 3, dt.date(2026, 1, 2)],
                ["ink", 5, dt.date(2026, 2, 3)],
            ],
        }
    )
    job = newtable.job_create(actor=actor, base=store, upload=upload(data, "book.xlsx"))
    assert job.sheets == ["Notes", "Orders"] and job.sheet == "Notes"
    assert job.header == ["note"] and job.title == "book"
    newtable.job_choose_sheet(actor=actor, job=job, sheet="Orders")
    assert job.header == ["Item", "Qty", "When"]
    assert [c["type"] for c in job.columns] == ["text", "number", "date"]
    with pytest.raises(InvalidInput, match="no sheet"):
        newtable.job_choose_sheet(actor=actor, job=job, sheet="Nope")
    newtable.job_start(actor=actor, job=job, title="Orders")
    job.refresh_from_db()
    assert job.status == "done", job.error
    rows = all_rows(store.tables.get(pk=job.table_id))
    assert [(r["Item"], r["Qty"]) for r in rows] == [("pen", 3), ("ink", 5)]
    # Named at upload, another sheet is read at once.
    named = newtable.job_create(
        actor=actor, base=store, upload=upload(data, "b.xlsx"), sheet="Orders"
    )
    assert named.header == ["Item", "Qty", "When"]


def test_bad_file_refused(store, actor):
    before = NewTableJob.objects.count()
    with pytest.raises(InvalidInput) as exc:
        newtable.job_create(
            actor=actor, base=store, upload=upload(b"\x00\x01\x02\x03binary")
        )
    assert exc.value.code == "IMPORT_BAD_FILE"
    assert NewTableJob.objects.count() == before


def test_pages(store, web, inline):
    url = f"/bases/{store.pk}/import"
    assert f'href="{url}"'.encode() in web.get(f"/bases/{store.pk}/").content
    assert web.get(url).status_code == 200
    r = web.post(url, {"file": upload(PEOPLE)})
    assert r.status_code == 302
    page = web.get(r["Location"])
    assert page.status_code == 200 and b"Ann" in page.content
    assert b'name="type-2"' in page.content
    job = NewTableJob.objects.get()
    form = {"table_title": "From page"}
    for i, c in enumerate(job.columns):
        form[f"title-{i}"], form[f"type-{i}"] = c["title"], c["type"]
    form["type-1"] = "skip"
    r = web.post(r["Location"], form)
    assert r.status_code == 302
    job.refresh_from_db()
    assert job.status == "done", job.error
    table = store.tables.get(title="From page")
    assert "Age" not in {f.title for f in table.fields.all()}
    done = web.get(r["Location"])
    assert b"Open From page" in done.content
    r = web.post(url, {"file": upload(b"\x00\x01\x02binary")})
    assert r.status_code == 400 and b"binary" in r.content


def test_a_refused_start_keeps_what_was_typed(store, web, actor):
    from bases.schema_services import table_create

    existing = table_create(actor=actor, base=store, title="Taken").title
    r = web.post(f"/bases/{store.pk}/import", {"file": upload(PEOPLE)})
    job = NewTableJob.objects.get()
    form = {"table_title": existing}
    for i, c in enumerate(job.columns):
        form[f"title-{i}"], form[f"type-{i}"] = c["title"], c["type"]
    form["title-0"], form["type-1"], form["dateOrder-3"] = "Full name", "skip", "mdy"
    page = web.post(r["Location"], form)
    assert page.status_code == 409 and b"exists already" in page.content
    html = page.content.decode()
    assert f'name="table_title" value="{existing}"' in html
    assert 'name="title-0" value="Full name"' in html
    assert '<option value="skip" selected>' in html
    assert '<option value="mdy" selected>month/day/year' in html
    job.refresh_from_db()
    assert job.status == "new" and job.columns[0]["title"] == "Name"


def test_year_first_dates_need_no_order():
    iso = coltypes.detect(["2026-01-02", "2026-02-03"])
    assert iso["type"] == "date" and iso["yearFirst"] is True
    assert coltypes.detect(["2026-01-02 00:00", "2026-02-03T00:00:00"])["yearFirst"]
    assert coltypes.detect(["01/02/2026", "24/12/2026"])["yearFirst"] is False


def test_api_flow(store, api, inline):
    base = f"/api/v2/meta/bases/{store.pk}/import"
    r = api.post(base, {"file": upload(PEOPLE)}, format="multipart")
    assert r.status_code == 201, r.content
    job = r.json()
    assert job["status"] == "new" and job["title"] == "people"
    assert job["rows"][0][0] == "Ann" and job["columns"][1]["type"] == "number"
    columns = job["columns"]
    columns[5]["type"] = "text"
    r = api.post(
        f"{base}/{job['id']}/start",
        {"title": "Via API", "columns": columns},
        format="json",
    )
    assert r.status_code == 202, r.content
    r = api.get(f"{base}/{job['id']}")
    body = r.json()
    assert body["status"] == "done" and body["done"] == 6 and "rows" not in body
    table = store.tables.get(pk=body["tableId"])
    assert table.title == "Via API"
    assert table.fields.get(title="Team").uidt == "SingleLineText"
    # Started already; a bad type; a missing job; a binary file.
    r = api.post(f"{base}/{job['id']}/start", {}, format="json")
    assert r.status_code == 400 and r.json()["error"] == "IMPORT_STARTED"
    r = api.post(base, {"file": upload(PEOPLE)}, format="multipart")
    r = api.post(
        f"{base}/{r.json()['id']}/start",
        {"columns": [{"title": "x", "type": "nope"}] * 9},
        format="json",
    )
    assert r.status_code == 400 and r.json()["error"] == "INVALID_COLUMNS"
    assert api.get(f"{base}/not-a-job").status_code == 404
    r = api.post(base, {"file": upload(b"\x00\x01binary")}, format="multipart")
    assert r.status_code == 400 and r.json()["error"] == "IMPORT_BAD_FILE"


def test_api_sheet_switch(store, api):
    data = _xlsx({"A": [["a"], ["1"]], "B": [["b", "c"], ["x", "2"]]})
    base = f"/api/v2/meta/bases/{store.pk}/import"
    r = api.post(base, {"file": upload(data, "w.xlsx")}, format="multipart")
    assert r.status_code == 201 and r.json()["sheets"] == ["A", "B"]
    r = api.patch(f"{base}/{r.json()['id']}", {"sheet": "B"}, format="json")
    assert r.status_code == 200 and r.json()["header"] == ["b", "c"]
    r = api.patch(f"{base}/{r.json()['id']}", {"sheet": "C"}, format="json")
    assert r.status_code == 400


def test_in_openapi(api):
    doc = api.get("/api/v2/meta/openapi.json")
    paths = doc.json()["paths"]
    assert "/api/v2/meta/bases/{base_id}/import" in paths
    assert "/api/v2/meta/bases/{base_id}/import/{job_id}/start" in paths


def test_new_table_in_a_connected_database(external_db, make_table, actor, inline):
    """PostgreSQL, MariaDB and SQLite connected as bases: the insert path, same result."""
    seed = make_table(external_db, "seed", "name VARCHAR(20)", allow_schema_edit=True)
    base = seed.base
    job = newtable.job_create(actor=actor, base=base, upload=upload(PEOPLE))
    newtable.job_start(actor=actor, job=job, title="People")
    job.refresh_from_db()
    assert job.status == "done", job.error
    table = base.tables.get(title="People")
    rows = all_rows(table)
    assert [r["Name"] for r in rows] == ["Ann", "Bob", "Cid", "Dee", "Eve", "Fay"]
    assert rows[0]["Age"] == 31 and rows[0]["Active"] in (True, 1)
    assert str(rows[0]["Born"])[:10] == "1990-12-24" and rows[0]["Team"] == "red"
    # A refused row: nothing created there either.
    bad = newtable.job_create(
        actor=actor, base=base, upload=upload("Qty\n1\nlots\n", "bad.csv")
    )
    columns = [dict(bad.columns[0], type="number")]
    newtable.job_start(actor=actor, job=bad, columns=columns)
    bad.refresh_from_db()
    assert bad.status == "failed" and [e["line"] for e in bad.errors] == [3]
    assert not base.tables.filter(title="bad").exists()


def test_long_digit_strings_stay_text():
    assert coltypes.detect(["12345678901234567890", "1"])["type"] == "text"
    assert coltypes.detect(["123456789012345678"])["type"] == "number"


def test_a_table_that_cannot_be_removed_is_named(store, actor, inline, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(newtable.copyload, "load", broken)
    monkeypatch.setattr(newtable, "_insert", broken)
    monkeypatch.setattr(newtable.schema_services, "table_delete", broken)
    job = newtable.job_create(actor=actor, base=store, upload=upload(PEOPLE))
    newtable.job_start(actor=actor, job=job)
    job.refresh_from_db()
    assert job.status == "failed" and "could not be removed" in job.error
    assert job.table_id and job.done == 0


# --- cancel ------------------------------------------------------------------------------


def _db_tables(base) -> set[str]:
    """The tables really in the base's database (not the metadata)."""
    from bases.introspection import introspect
    from bases.sources import source_alias

    return {t.name for t in introspect(source_alias(base.sources.get()))}


def _many(n: int) -> str:
    return "Name,Qty\n" + "".join(f"row {i},{i}\n" for i in range(n))


def test_cancel_before_the_run(store, actor, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks, "start_new_table", queued.append)
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    # Uploaded, never started: cancelled at once, its file removed.
    new = newtable.job_create(actor=actor, base=store, upload=upload(PEOPLE))
    path = new.path
    newtable.job_cancel(actor=actor, job=new)
    new.refresh_from_db()
    assert new.status == "cancelled" and new.error.startswith("Cancelled")
    assert not os.path.exists(path)
    # Queued: cancelled at once; the queued run then finds it cancelled.
    job = newtable.job_create(actor=actor, base=store, upload=upload(PEOPLE))
    newtable.job_start(actor=actor, job=job, title="Queued")
    assert queued == [str(job.pk)]
    newtable.job_cancel(actor=actor, job=job)
    assert not os.path.exists(job.path)
    newtable.run_new_table(queued[0])
    job.refresh_from_db()
    assert job.status == "cancelled" and not job.table_id
    assert not store.tables.filter(title="Queued").exists()
    cancelled = Activity.objects.filter(base_id=store.pk, action="import.cancelled")
    assert cancelled.count() == 2
    assert not Activity.objects.filter(base_id=store.pk, action="table.create").exists()
    with pytest.raises(Conflict) as exc:
        newtable.job_cancel(actor=actor, job=job)
    assert exc.value.code == "IMPORT_FINISHED"


def test_cancel_during_the_load_drops_the_table(store, actor, inline, monkeypatch):
    """The PostgreSQL store: between COPY's chunks; SQLite: between insert batches. The
    real database, cancelled by the user while the rows are loading."""
    monkeypatch.setattr(newtable.copyload, "CHUNK", 256)  # many chunks of a small file
    monkeypatch.setattr(newtable, "BATCH", 20)
    real = newtable._progress
    seen = []

    def progress_then_cancel(job, done):
        real(job, done)
        seen.append(done)
        if len(seen) == 2:  # the user presses Cancel while the third piece waits
            newtable.job_cancel(actor=actor, job=NewTableJob.objects.get(pk=job.pk))

    monkeypatch.setattr(newtable, "_progress", progress_then_cancel)
    before = _db_tables(store)
    job = newtable.job_create(actor=actor, base=store, upload=upload(_many(200)))
    newtable.job_start(actor=actor, job=job, title="Halfway")
    job.refresh_from_db()
    assert job.status == "cancelled", job.error
    assert len(seen) == 2 and 0 < seen[-1] < 200  # it stopped part-way
    assert job.done == 0 and job.total == 200 and not job.table_id
    assert not store.tables.filter(title="Halfway").exists()
    assert _db_tables(store) == before  # created, then dropped in the database too
    actions = list(
        Activity.objects.filter(base_id=store.pk).values_list("action", flat=True)
    )
    assert "table.create" in actions and "table.delete" in actions
    assert actions.count("import.cancelled") == 1
    assert not os.path.exists(job.path) and not os.path.exists(f"{job.path}.copy")


def test_cancel_before_the_copy_commits(store, actor, inline, monkeypatch):
    """A cancel that lands after the last chunk is sent still rolls back (checked once
    more before the commit)."""
    real = newtable._progress

    def progress_then_cancel(job, done):
        real(job, done)
        if done == 6:  # every row sent (one chunk), the commit not yet made
            NewTableJob.objects.filter(pk=job.pk).update(cancel_requested=True)

    monkeypatch.setattr(newtable, "_progress", progress_then_cancel)
    job = newtable.job_create(actor=actor, base=store, upload=upload(PEOPLE))
    newtable.job_start(actor=actor, job=job)
    job.refresh_from_db()
    assert job.status == "cancelled" and job.done == 0
    assert not store.tables.filter(title="people").exists()


def test_cancel_during_the_check_pass(store, actor, inline, monkeypatch):
    monkeypatch.setattr(newtable, "BATCH", 10)
    real = newtable.csvfile.read_rows

    def cancelled_while_read(path, info):
        for i, row in enumerate(real(path, info)):
            if i == 15:  # the user cancels while the file is being checked
                NewTableJob.objects.filter(status="running").update(
                    cancel_requested=True
                )
            yield row

    monkeypatch.setattr(newtable.csvfile, "read_rows", cancelled_while_read)
    job = newtable.job_create(actor=actor, base=store, upload=upload(_many(45)))
    newtable.job_start(actor=actor, job=job, title="Checked")
    job.refresh_from_db()
    assert job.status == "cancelled" and not job.table_id
    assert not Activity.objects.filter(base_id=store.pk, action="table.create").exists()
    assert Activity.objects.filter(base_id=store.pk, action="import.cancelled").exists()


def test_api_cancel(store, api, monkeypatch):
    monkeypatch.setattr(tasks, "start_new_table", lambda job_id: None)  # never run
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    base = f"/api/v2/meta/bases/{store.pk}/import"
    job = api.post(base, {"file": upload(PEOPLE)}, format="multipart").json()
    r = api.post(f"{base}/{job['id']}/start", {}, format="json")
    assert r.status_code == 202 and r.json()["status"] == "pending"
    r = api.post(f"{base}/{job['id']}/cancel")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "cancelled" and r.json()["tableId"] is None
    r = api.post(f"{base}/{job['id']}/cancel")
    assert r.status_code == 409 and r.json()["error"] == "IMPORT_FINISHED"
    assert api.get(f"{base}/{job['id']}").json()["status"] == "cancelled"
    missing = f"{base}/00000000-0000-0000-0000-000000000000/cancel"
    assert api.post(missing).status_code == 404
    paths = api.get("/api/v2/meta/openapi.json").json()["paths"]
    assert "/api/v2/meta/bases/{base_id}/import/{job_id}/cancel" in paths


def test_api_cancel_a_finished_job(store, api, inline):
    base = f"/api/v2/meta/bases/{store.pk}/import"
    job = api.post(base, {"file": upload(PEOPLE)}, format="multipart").json()
    assert api.post(f"{base}/{job['id']}/start", {}, format="json").status_code == 202
    r = api.post(f"{base}/{job['id']}/cancel")
    assert r.status_code == 409 and r.json()["error"] == "IMPORT_FINISHED"
    assert store.tables.filter(title="people").exists()  # done: it stays


def test_cancel_button_swaps_the_progress_in_place(store, actor, web, monkeypatch):
    monkeypatch.setattr(tasks, "start_new_table", lambda job_id: None)  # never run
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    job = newtable.job_create(actor=actor, base=store, upload=upload(PEOPLE))
    newtable.job_start(actor=actor, job=job)
    url = f"/bases/{store.pk}/import/{job.pk}"
    page = web.get(url)
    assert b"Cancel import" in page.content and b"Waiting to start" in page.content
    assert f'hx-post="{url}/cancel"'.encode() in page.content
    r = web.post(f"{url}/cancel", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and b'id="import-progress"' in r.content
    assert b"Cancelled: nothing was imported." in r.content
    assert b"hx-get" not in r.content and b"Cancel import" not in r.content
    assert web.get(f"{url}/cancel").status_code == 405
    assert web.post(f"{url}/cancel").status_code == 302  # finished: its page says so
