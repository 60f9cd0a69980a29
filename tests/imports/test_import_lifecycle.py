"""An import's life beyond inserting: upsert by a key column (and the editors' update-only
rule, hidden fields), cancel, the refused rows as CSV, and the progress's rate and time left."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import Activity
from bases import records
from imports import services, tasks, upsert
from imports.models import ImportJob
from nocoplatform.errors import Conflict, Forbidden, InvalidInput
from permissions.checks import SYSTEM, Actor
from permissions.services import field_rule_set, membership_create

pytestmark = pytest.mark.django_db


def _items(make_table, db="sqlite"):
    return make_table(
        db,
        "items",
        "name VARCHAR(50) NOT NULL UNIQUE",
        "qty INTEGER",
        "note VARCHAR(50)",
        rows=[
            {"name": "apple", "qty": 1, "note": "a"},
            {"name": "pear", "qty": 2, "note": "p"},
        ],
        title="Stock",
    )


@pytest.fixture
def items(make_table):
    return _items(make_table)


@pytest.fixture
def inline(monkeypatch):
    """Run started jobs at once, in the test's thread and transaction."""
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    monkeypatch.setattr(tasks, "start", lambda job_id: services.run_import(job_id))


@pytest.fixture
def editor(items, other_user):
    membership_create(base=items.base, user=other_user, role="editor")
    return Actor(user=other_user)


def upload(data: bytes | str, name="data.csv"):
    if isinstance(data, str):
        data = data.encode()
    return SimpleUploadedFile(name, data, content_type="text/csv")


def rows(table):
    page = records.list_records(table, {"limit": "100", "sort": "id"}, actor=SYSTEM)
    return [(r["id"], r["name"], r["qty"], r["note"]) for r in page]


def run(actor, table, body, key=None, mapping=None):
    job = services.job_create(actor=actor, table=table, upload=upload(body))
    services.job_start(
        actor=actor, job=job, mapping=mapping or job.mapping, key_column=key
    )
    job.refresh_from_db()
    return job


def test_upsert_updates_matched_rows_and_inserts_the_others(items, actor, inline):
    job = run(actor, items, "name,qty\npear,20\nplum,3\napple,10\n", key="name")
    assert job.status == "done", job.error
    assert (job.inserted, job.updated, job.done, job.total) == (1, 2, 3, 3)
    # Unmapped fields (note) are left as they were; the key is not rewritten.
    assert rows(items) == [
        (1, "apple", 10, "a"),
        (2, "pear", 20, "p"),
        (3, "plum", 3, None),
    ]
    entry = Activity.objects.get(base_id=items.base_id, action="import.done")
    assert (entry.details["inserted"], entry.details["updated"]) == (1, 2)


@pytest.mark.parametrize("db", ["pg", "mysql"])
def test_upsert_on_postgres_and_mariadb(make_table, actor, inline, db):
    table = _items(make_table, db)
    # MariaDB's default collation ignores case: its own equality decides the match.
    name = "APPLE" if db == "mysql" else "apple"
    job = run(actor, table, f"name,qty\n{name},7\nfig,1\n", key="0")
    assert job.status == "done", job.error
    assert (job.inserted, job.updated) == (1, 1)
    assert [r[1:3] for r in rows(table)] == [("apple", 7), ("pear", 2), ("fig", 1)]


def test_upsert_by_id_export_edit_import(items, actor, inline):
    """The spreadsheet round trip: rows with an id update theirs, rows without one are new."""
    job = run(actor, items, "id,name,qty\n2,pear,5\n,kiwi,9\n", key="id")
    assert job.status == "done", job.error
    assert (job.inserted, job.updated) == (1, 1)
    assert rows(items)[1:] == [(2, "pear", 5, "p"), (3, "kiwi", 9, None)]


def test_keys_matched_in_batches(items, actor, inline, monkeypatch):
    monkeypatch.setattr(services, "BATCH", 10)
    calls = []
    real = upsert.match
    monkeypatch.setattr(
        upsert, "match", lambda *a: calls.append(len(a[-1])) or real(*a)
    )
    body = "name,qty\n" + "".join(f"n{i},{i}\n" for i in range(25)) + "apple,0\n"
    job = run(actor, items, body, key="name")
    assert job.status == "done", job.error
    assert calls == [10, 10, 6]  # one SELECT per batch, not one per row
    assert (job.inserted, job.updated) == (25, 1)


def test_refused_keys_fail_the_whole_job(items, actor, inline, make_table):
    body = "name,qty\napple,5\nplum,1\napple,6\n"
    job = run(actor, items, body, key="name")
    assert job.status == "failed" and job.error.startswith("1 row refused")
    assert job.errors == [{"line": 4, "message": "the key 'apple' is on line 2 too."}]
    assert rows(items)[0] == (1, "apple", 1, "a")
    # A key column whose value names two rows refuses that line.
    dup = make_table(
        "sqlite",
        "dup",
        "code VARCHAR(10)",
        "qty INTEGER",
        rows=[{"code": "x", "qty": 1}, {"code": "x", "qty": 2}],
    )
    job = run(actor, dup, "code,qty\nx,9\n", key="code")
    assert job.status == "failed"
    assert "2 rows have 'code' = 'x'" in job.errors[0]["message"]


def test_editor_updates_by_key_but_never_inserts(items, editor, inline):
    with pytest.raises(Forbidden):  # an editor's import without a key would insert
        run(editor, items, "name,qty\nplum,1\n")
    job = run(editor, items, "name,qty\napple,11\npear,12\n", key="name")
    assert job.status == "done", job.error
    assert (job.inserted, job.updated) == (0, 2)
    # One line without a match: refused, and the matched lines roll back with it.
    job = run(editor, items, "name,qty\napple,21\nplum,1\n,3\n", key="name")
    assert job.status == "failed"
    assert [e["line"] for e in job.errors] == [3, 4]
    assert "you may update rows, not add them" in job.errors[0]["message"]
    assert "required" in job.errors[1]["message"]  # an empty key
    assert [r[1:3] for r in rows(items)] == [("apple", 11), ("pear", 12)]


def test_hidden_field_cannot_be_mapped(items, actor, editor, inline):
    note = items.fields.get(title="note")
    field_rule_set(actor=actor, field=note, hidden_below="creator")
    job = services.job_create(
        actor=editor, table=items, upload=upload("name,note\napple,x\n")
    )
    assert job.mapping == {"0": items.fields.get(title="name").pk}  # not matched
    assert note not in services.target_fields(items, editor)
    with pytest.raises(InvalidInput) as exc:
        services.job_start(
            actor=editor,
            job=job,
            mapping={"0": job.mapping["0"], "1": note.pk},
            key_column="0",
        )
    assert exc.value.code == "INVALID_MAPPING"
    assert rows(items)[0][3] == "a"


def test_key_column_checked(items, actor):
    job = services.job_create(
        actor=actor, table=items, upload=upload("name,qty,x\napple,1,2\n")
    )
    for key in ("nope", "2", "9"):  # unknown, unmapped, out of range
        with pytest.raises(InvalidInput) as exc:
            services.job_start(
                actor=actor, job=job, mapping=job.mapping, key_column=key
            )
        assert exc.value.code == "INVALID_MAPPING"


def test_cancel_a_waiting_job(items, actor, monkeypatch):
    started = []
    monkeypatch.setattr(tasks, "start", started.append)
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    job = run(actor, items, "name,qty\nplum,1\n")
    assert job.status == "pending"
    job = services.job_cancel(actor=actor, job=job)
    assert job.status == "cancelled" and "nothing was imported" in job.error
    services.run_import(started[0])  # the queued run finds it cancelled
    job.refresh_from_db()
    assert job.status == "cancelled" and len(rows(items)) == 2
    with pytest.raises(Conflict) as exc:
        services.job_cancel(actor=actor, job=job)
    assert exc.value.code == "IMPORT_FINISHED"


def test_cancel_a_running_job_rolls_back(items, actor, inline, monkeypatch):
    monkeypatch.setattr(services, "BATCH", 10)
    real = services._write_batch
    batches = []

    def write_then_cancel(conn, meta, table, actor_, plan, batch, job, refusals):
        real(conn, meta, table, actor_, plan, batch, job, refusals)
        batches.append(len(batch))
        if len(batches) == 2:  # the user presses Cancel while the third batch waits
            services.job_cancel(actor=actor, job=ImportJob.objects.get(pk=job.pk))

    monkeypatch.setattr(services, "_write_batch", write_then_cancel)
    body = "name,qty\n" + "".join(f"n{i},{i}\n" for i in range(45))
    job = run(actor, items, body)
    assert batches == [10, 10]
    assert job.status == "cancelled" and job.done == 0
    assert len(rows(items)) == 2  # the two written batches rolled back
    assert Activity.objects.filter(action="import.cancelled").count() == 1


def test_refused_rows_csv_formula_safe(items, actor, inline, web):
    body = "name,qty\nok,1\n=cmd|' /C calc'!A0,many\n-2+3,x\n"
    job = run(actor, items, body)
    assert job.status == "failed" and job.refused == 2
    url = f"/bases/{items.base_id}/tables/{items.pk}/import/{job.pk}/refused.csv"
    r = web.get(url)
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert "attachment" in r["Content-Disposition"]
    text = b"".join(r.streaming_content).decode("utf-8-sig")
    got = list(csv.reader(io.StringIO(text)))
    assert got[0] == ["Line", "Reason", "name", "qty"]
    assert [g[0] for g in got[1:]] == ["3", "4"]
    assert got[1][2] == "'=cmd|' /C calc'!A0" and got[2][2] == "'-2+3"
    assert "qty" in got[1][1]
    page = web.get(f"/bases/{items.base_id}/tables/{items.pk}/import/{job.pk}")
    assert b"refused.csv" in page.content


def test_progress_rate_and_time_left(items, actor):
    job = services.job_create(actor=actor, table=items, upload=upload("name\na\n"))
    assert job.rate() is None and job.seconds_left() is None
    job.status, job.total, job.done = "running", 3000, 1000
    job.started_at = timezone.now() - dt.timedelta(seconds=10)
    assert 95 < job.rate() <= 100
    assert 19 <= job.seconds_left() <= 21


def test_api_upsert_cancel_and_refused(items, api, user, inline):
    url = f"/api/v2/tables/{items.pk}/import"
    r = api.post(
        url,
        {"file": upload("name,qty\napple,3\nfig,4\n"), "keyColumn": "name"},
        format="multipart",
    )
    assert r.status_code == 202, r.content
    job = api.get(f"{url}/{r.json()['id']}").json()
    assert job["status"] == "done"
    assert (job["inserted"], job["updated"], job["keyColumn"]) == (1, 1, 0)
    assert job["rate"] is not None and job["secondsLeft"] is None
    r = api.post(f"{url}/{job['id']}/cancel")
    assert r.status_code == 409 and r.json()["error"] == "IMPORT_FINISHED"
    r = api.post(
        url,
        {"file": upload("name,qty\nx,1\n"), "keyColumn": "nope"},
        format="multipart",
    )
    assert r.status_code == 400 and r.json()["error"] == "INVALID_MAPPING"
    assert ImportJob.objects.count() == 1  # the unstartable upload is not kept
    r = api.post(url, {"file": upload("name,qty\nbad,many\n")}, format="multipart")
    refused = api.get(f"{url}/{r.json()['id']}/refused.csv")
    assert refused.status_code == 200
    assert (
        b"".join(refused.streaming_content)
        .decode("utf-8-sig")
        .startswith("Line,Reason,name,qty\r\n2,")
    )
    assert (
        api.post(f"{url}/00000000-0000-0000-0000-000000000000/cancel").status_code
        == 404
    )
    paths = api.get("/api/v2/meta/openapi.json").json()["paths"]
    assert any(p.endswith("/import/{job_id}/cancel") for p in paths)
    assert any(p.endswith("/import/{job_id}/refused.csv") for p in paths)


def test_cancel_during_the_check_pass(items, actor, inline, monkeypatch):
    monkeypatch.setattr(services, "BATCH", 10)
    real = services.csvfile.read_rows

    def cancelled_while_read(path, info):
        for i, row in enumerate(real(path, info)):
            if i == 15:  # the user cancels while the file is being checked
                ImportJob.objects.filter(status="running").update(cancel_requested=True)
            yield row

    monkeypatch.setattr(services.csvfile, "read_rows", cancelled_while_read)
    body = "name,qty\n" + "".join(f"n{i},{i}\n" for i in range(45))
    job = run(actor, items, body)
    assert job.status == "cancelled" and job.total is None
    assert len(rows(items)) == 2


def test_editor_pages_offer_update_only(items, editor, other_user, client, inline):
    client.force_login(other_user)
    base = items.base_id
    table_page = client.get(f"/bases/{base}/tables/{items.pk}/")
    assert b"Import CSV" in table_page.content
    form = client.get(f"/bases/{base}/tables/{items.pk}/import")
    assert b"As an editor you may update existing rows" in form.content
    r = client.post(
        f"/bases/{base}/tables/{items.pk}/import",
        {"file": upload("name,qty,note\napple,5,\nplum,1,x\n")},
    )
    assert r.status_code == 302
    page = client.get(r["Location"])
    assert b"you may update existing rows, not add rows" in page.content
    assert b'type="hidden" name="upsert"' in page.content
    job = ImportJob.objects.get(user=other_user)
    body = {f"col-{c}": f for c, f in job.mapping.items()}
    # Without the upsert the start is refused (403), and nothing is queued.
    refused = client.post(r["Location"], body)
    assert refused.status_code == 403
    job.refresh_from_db()
    assert job.status == "new"
    r2 = client.post(r["Location"], {**body, "upsert": "1", "key_column": "0"})
    assert r2.status_code == 302
    job.refresh_from_db()
    # plum matches no row: refused, and apple's update rolled back with it.
    assert job.status == "failed" and [e["line"] for e in job.errors] == [3]
    assert rows(items)[0][2] == 1
    # A key left empty in a nullable key field: no row to update for an editor.
    r = client.post(
        f"/bases/{base}/tables/{items.pk}/import",
        {"file": upload("note,qty\n,5\n")},
    )
    job = ImportJob.objects.filter(user=other_user).order_by("-created_at").first()
    client.post(
        r["Location"],
        {
            "col-0": job.mapping["0"],
            "col-1": job.mapping["1"],
            "upsert": "1",
            "key_column": "0",
        },
    )
    job.refresh_from_db()
    assert job.status == "failed" and "is empty" in job.errors[0]["message"]


def test_cancel_button_swaps_the_progress_in_place(items, actor, web, monkeypatch):
    monkeypatch.setattr(tasks, "start", lambda job_id: None)  # queued, never run
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    job = run(actor, items, "name,qty\nplum,1\n")
    url = f"/bases/{items.base_id}/tables/{items.pk}/import/{job.pk}"
    page = web.get(url)
    assert b"Cancel import" in page.content and b"Waiting to start" in page.content
    r = web.post(f"{url}/cancel", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and b'id="import-progress"' in r.content
    assert b"Cancelled: nothing was imported." in r.content
    assert b"hx-get" not in r.content  # no more polling
    assert web.get(f"{url}/cancel").status_code == 405
