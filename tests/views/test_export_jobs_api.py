"""Export jobs through the API (imports/export_api.py, docs/import-export.md): create, poll,
download — the direct API export's file — cancel; only their maker sees them; a job made with
an API token runs through that token (its base, read-only) and fails when it is revoked."""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from bases import export
from bases.demo import create_demo_base
from imports import exports
from imports.models import ExportJob
from permissions.checks import Actor
from permissions.models import ApiToken
from permissions.services import (
    api_token_create,
    api_token_revoke,
    field_rule_set,
    membership_create,
)
from tests.job_lists import check_paging, check_whole_page, ids
from tests.permissions.conftest import session_client

pytestmark = pytest.mark.django_db


def _token_client(user, **kwargs) -> tuple[APIClient, ApiToken]:
    token, raw = api_token_create(user=user, name="export", **kwargs)
    c = APIClient()
    c.credentials(HTTP_XC_TOKEN=raw)
    return c, token


def _jobs(table) -> str:
    return f"/api/v2/tables/{table.pk}/export/jobs"


def _direct(client, table, view=None, fmt="csv") -> bytes:
    q = f"?format={fmt}" + (f"&viewId={view.pk}" if view is not None else "")
    r = client.get(f"/api/v2/tables/{table.pk}/export{q}")
    assert r.status_code == 200, r.content
    return b"".join(r.streaming_content)


def _start(client, table, body, queued) -> dict:
    r = client.post(_jobs(table), body, format="json")
    assert r.status_code == 202, r.content
    job = r.json()
    assert queued[-1] == job["id"]
    assert r["Location"].endswith(f"{_jobs(table)}/{job['id']}")
    return job


def _file(client, table, job_id):
    return client.get(f"{_jobs(table)}/{job_id}/file")


def test_csv_job_create_poll_download_is_the_direct_exports_bytes(
    user, projects, view, queued, monkeypatch
):
    api, _ = _token_client(user)
    direct = _direct(api, projects, view)
    job = _start(api, projects, {"viewId": view.pk, "format": "csv"}, queued)
    assert job["status"] == "pending" and job["done"] == 0
    assert job["total"] == len(direct.splitlines()) - 1
    assert job["viewId"] == view.pk and job["format"] == "csv"
    assert job["fileName"] == "projects - Active.csv" and job["downloadUrl"] is None
    assert _file(api, projects, job["id"]).status_code == 404  # not written yet

    monkeypatch.setattr(export, "PAGE", 2)
    seen = []
    real = exports._counted

    def spy(job, pages):
        for p in real(job, pages):
            seen.append(api.get(f"{_jobs(projects)}/{job.pk}").json()["done"])
            yield p

    monkeypatch.setattr(exports, "_counted", spy)
    exports.run_export(job["id"])
    assert seen[:2] == [0, 2]  # the API's progress, page by page

    polled = api.get(f"{_jobs(projects)}/{job['id']}").json()
    assert (
        polled["status"] == "done" and polled["done"] == polled["total"] == job["total"]
    )
    assert polled["error"] is None and polled["secondsLeft"] is None
    assert polled["finishedAt"] and polled["startedAt"]
    assert polled["downloadUrl"] == (
        f"http://testserver{_jobs(projects)}/{job['id']}/file"
    )
    r = api.get(polled["downloadUrl"])
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert b"".join(r.streaming_content) == direct
    assert r["Content-Disposition"].startswith(
        'attachment; filename="projects - Active.csv"'
    )
    assert r["Cache-Control"] == "no-store"


def test_xlsx_job_is_the_direct_exports_workbook(user, projects, view, queued):
    api, _ = _token_client(user)
    direct = _direct(api, projects, view, "xlsx")
    job = _start(api, projects, {"viewId": view.pk, "format": "excel"}, queued)
    assert job["format"] == "xlsx" and job["fileName"] == "projects - Active.xlsx"
    exports.run_export(job["id"])
    r = _file(api, projects, job["id"])
    assert r.status_code == 200 and r["Content-Type"] == export.FORMATS["xlsx"]
    got = load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)
    want = load_workbook(io.BytesIO(direct), read_only=True)
    rows = list(got.active.iter_rows(values_only=True))
    assert rows == list(want.active.iter_rows(values_only=True)) and len(rows) > 2
    assert got.active.title == want.active.title == "Active"


def test_without_view_the_whole_table_as_the_direct_export(user, projects, queued):
    """No viewId: every field, every row, named after the table — in the query string too,
    as the direct export takes its parameters."""
    api, _ = _token_client(user)
    for fmt in ("csv", "xlsx"):
        r = api.post(f"{_jobs(projects)}?format={fmt}")
        assert r.status_code == 202, r.content
        job = r.json()
        assert job["viewId"] is None and job["fileName"] == f"projects.{fmt}"
        exports.run_export(job["id"])
        got = b"".join(_file(api, projects, job["id"]).streaming_content)
        direct = _direct(api, projects, fmt=fmt)
        if fmt == "csv":
            assert got == direct and len(direct.splitlines()) > 4
        else:
            a = load_workbook(io.BytesIO(got), read_only=True).active
            b = load_workbook(io.BytesIO(direct), read_only=True).active
            assert list(a.iter_rows(values_only=True)) == list(
                b.iter_rows(values_only=True)
            )
            assert a.title == b.title == "projects"


def test_progress_fields_while_running(user, projects, view, queued):
    api, _ = _token_client(user)
    job = _start(api, projects, {"viewId": view.pk}, queued)
    ExportJob.objects.filter(pk=job["id"]).update(
        status="running",
        done=1000,
        total=11_000,
        started_at=timezone.now() - timedelta(seconds=2),
    )
    got = api.get(f"{_jobs(projects)}/{job['id']}").json()
    assert got["status"] == "running" and (got["done"], got["total"]) == (1000, 11_000)
    assert 300 < got["rate"] <= 500  # 1000 rows in about 2 s
    assert 15 <= got["secondsLeft"] <= 21  # 10,000 rows to go
    assert got["downloadUrl"] is None


def test_cancel_with_post_and_delete(user, projects, view, queued, monkeypatch):
    api, _ = _token_client(user)
    job = _start(api, projects, {"viewId": view.pk}, queued)
    r = api.post(f"{_jobs(projects)}/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    exports.run_export(job["id"])  # the queued run finds it cancelled
    assert ExportJob.objects.get(pk=job["id"]).status == "cancelled"
    assert _file(api, projects, job["id"]).status_code == 404

    # Running: DELETE asks it to stop; it stops after its page, leaving no file.
    job = _start(api, projects, {"viewId": view.pk}, queued)
    ExportJob.objects.filter(pk=job["id"]).update(status="running")
    r = api.delete(f"{_jobs(projects)}/{job['id']}")
    assert r.status_code == 200 and r.json()["status"] == "running"
    ExportJob.objects.filter(pk=job["id"]).update(status="pending")  # let it run
    monkeypatch.setattr(export, "PAGE", 2)
    exports.run_export(job["id"])
    done = api.get(f"{_jobs(projects)}/{job['id']}").json()
    assert done["status"] == "cancelled" and done["done"] == 2
    assert done["error"] == "Export cancelled."
    assert not os.path.exists(exports.export_path(ExportJob.objects.get(pk=job["id"])))

    # Finished: 409.
    job = _start(api, projects, {"viewId": view.pk}, queued)
    exports.run_export(job["id"])
    r = api.post(f"{_jobs(projects)}/{job['id']}/cancel")
    assert r.status_code == 409 and r.json()["error"] == "EXPORT_FINISHED"
    assert api.delete(f"{_jobs(projects)}/{job['id']}").status_code == 409


def test_only_its_maker_sees_it(user, other_user, demo, projects, view, queued):
    api, _ = _token_client(user)
    job = _start(api, projects, {"viewId": view.pk}, queued)
    exports.run_export(job["id"])
    url = f"{_jobs(projects)}/{job['id']}"
    # The same user with their session (or another token): theirs.
    me = session_client(user)
    assert me.get(url).json()["status"] == "done"
    assert _file(me, projects, job["id"]).status_code == 200

    membership_create(base=demo, user=other_user, role="owner")  # even an owner
    for other in (session_client(other_user), _token_client(other_user)[0]):
        for r in (
            other.get(url),
            other.get(url + "/file"),
            other.post(url + "/cancel"),
            other.delete(url),
        ):
            assert r.status_code == 404 and r.json()["error"] == "EXPORT_NOT_FOUND"
    assert ExportJob.objects.get(pk=job["id"]).status == "done"
    # Another table's URL, an unknown or malformed id: 404 too.
    clients = demo.tables.exclude(pk=projects.pk).first()
    assert api.get(f"{_jobs(clients)}/{job['id']}").status_code == 404
    assert (
        api.get(f"{_jobs(projects)}/00000000-0000-0000-0000-000000000000").status_code
        == 404
    )
    assert api.get(f"{_jobs(projects)}/nope").status_code == 404
    assert APIClient().get(url).status_code == 401


def test_viewer_and_read_only_token_may_export(
    user, other_user, demo, projects, view, queued
):
    """Exporting is reading: as the direct export, viewers and read-only tokens may."""
    membership_create(base=demo, user=other_user, role="viewer")
    for client in (
        session_client(other_user),
        _token_client(other_user, read_only=True)[0],
    ):
        assert client.get(f"/api/v2/tables/{projects.pk}/export").status_code == 200
        job = _start(client, projects, {"viewId": view.pk}, queued)
        exports.run_export(job["id"])
        assert client.get(f"{_jobs(projects)}/{job['id']}").json()["status"] == "done"
        assert _file(client, projects, job["id"]).status_code == 200


def test_the_run_keeps_the_tokens_limits(
    user, other_user, demo, projects, view, queued
):
    """The run reads through the token the job was made with: a field hidden from its
    user's role is not in the file, and a table outside the token's base is never read
    although the user may read it."""
    field_rule_set(
        actor=Actor(user=user),
        field=projects.fields.get(title="budget"),
        hidden_below="creator",
    )
    membership_create(base=demo, user=other_user, role="viewer")
    api, token = _token_client(other_user, base=demo, read_only=True)
    direct = _direct(api, projects, view)
    job = _start(api, projects, {"viewId": view.pk}, queued)
    assert ExportJob.objects.get(pk=job["id"]).api_token_id == token.pk
    run_as = exports.run_actor(ExportJob.objects.get(pk=job["id"]))
    assert run_as.token.pk == token.pk and run_as.token.read_only
    exports.run_export(job["id"])
    body = b"".join(_file(api, projects, job["id"]).streaming_content)
    assert body == direct
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert "budget" not in header and "name" in header

    # A job of a table outside the token's base (the user owns that base): the run refuses
    # it, and the same job without the token is exported — the token made the difference.
    other_base = create_demo_base(other_user, title="other demo")
    elsewhere = other_base.tables.get(title="projects")
    outside = ExportJob.objects.create(
        table=elsewhere,
        view_id="",
        user=other_user,
        api_token_id=token.pk,
        format="csv",
        file_name="projects.csv",
    )
    exports.run_export(str(outside.pk))
    outside.refresh_from_db()
    assert outside.status == "failed" and outside.error == "Table not found."
    assert not os.path.exists(exports.export_path(outside))
    mine = session_client(other_user)
    assert _file(mine, elsewhere, outside.pk).status_code == 404
    ExportJob.objects.filter(pk=outside.pk).update(status="pending", api_token_id=None)
    exports.run_export(str(outside.pk))
    assert ExportJob.objects.get(pk=outside.pk).status == "done"


def test_token_revoked_mid_run_fails_the_job(user, projects, view, queued, monkeypatch):
    api, token = _token_client(user)
    job = _start(api, projects, {"viewId": view.pk}, queued)
    monkeypatch.setattr(export, "PAGE", 2)
    real = exports._counted

    def revoke_after_first_page(job, pages):
        for i, p in enumerate(real(job, pages)):
            if i == 0:
                api_token_revoke(user=user, token_id=token.pk)
            yield p

    monkeypatch.setattr(exports, "_counted", revoke_after_first_page)
    exports.run_export(job["id"])
    stored = ExportJob.objects.get(pk=job["id"])
    assert stored.status == "failed" and stored.done == 2
    assert "revoked" in stored.error and not stored.path
    assert not os.path.exists(exports.export_path(stored))
    assert not os.path.exists(exports.export_path(stored) + ".part")
    me = session_client(user)  # the token is gone; the user's session sees why
    got = me.get(f"{_jobs(projects)}/{job['id']}").json()
    assert got["status"] == "failed" and got["error"] == exports.TOKEN_REVOKED
    assert got["downloadUrl"] is None
    assert _file(me, projects, job["id"]).status_code == 404
    assert api.get(f"{_jobs(projects)}/{job['id']}").status_code == 401


def test_token_revoked_before_the_run_or_before_it_finished(
    user, projects, view, queued
):
    api, token = _token_client(user)
    job = _start(api, projects, {"viewId": view.pk}, queued)
    api_token_revoke(user=user, token_id=token.pk)
    exports.run_export(job["id"])
    stored = ExportJob.objects.get(pk=job["id"])
    assert stored.status == "failed" and stored.error == exports.TOKEN_REVOKED
    assert stored.done == 0

    # Revoked at the moment the file was finished (a race with the last check): the file
    # is not served; revoked after it was finished: it is (to the same user).
    api, token = _token_client(user)
    job = _start(api, projects, {"viewId": view.pk}, queued)
    exports.run_export(job["id"])
    stored = ExportJob.objects.get(pk=job["id"])
    me = session_client(user)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=stored.finished_at)
    assert _file(me, projects, job["id"]).status_code == 404
    ApiToken.objects.filter(pk=token.pk).update(
        revoked_at=stored.finished_at + timedelta(seconds=1)
    )
    assert _file(me, projects, job["id"]).status_code == 200
    ApiToken.objects.filter(pk=token.pk).delete()  # deleted: when is unknown
    assert _file(me, projects, job["id"]).status_code == 404


def test_bad_parameters_are_400_naming_them(user, projects, view, queued):
    api, _ = _token_client(user)
    cases = [
        ({"format": "pdf"}, "INVALID_FORMAT", "`format`"),
        ({"where": "(name,eq,x)"}, "INVALID_PARAMETER", "`where`"),
        ({"viewId": 5}, "INVALID_PARAMETER", "`viewId`"),
        ({"format": ["csv"]}, "INVALID_PARAMETER", "`format`"),
    ]
    for body, code, name in cases:
        r = api.post(_jobs(projects), body, format="json")
        assert r.status_code == 400, (body, r.content)
        assert r.json()["error"] == code and name in r.json()["message"]
    r = api.post(f"{_jobs(projects)}?sort=name")
    assert r.status_code == 400 and "`sort`" in r.json()["message"]
    r = api.post(_jobs(projects), ["csv"], format="json")
    assert r.status_code == 400 and r.json()["error"] == "INVALID_BODY"
    r = api.post(_jobs(projects), {"viewId": "vw_nope"}, format="json")
    assert r.status_code == 404 and r.json()["error"] == "VIEW_NOT_FOUND"
    r = api.post("/api/v2/tables/nope/export/jobs", {}, format="json")
    assert r.status_code == 404
    assert queued == []  # nothing was started
    assert not ExportJob.objects.exists()


def test_in_the_openapi_document(user):
    doc = session_client(user).get("/api/v2/meta/openapi.json").json()
    paths = doc["paths"]
    base = "/api/v2/tables/{table_id}/export/jobs"
    assert set(paths[base]) >= {"post"}
    assert set(paths[base + "/{job_id}"]) >= {"get", "delete"}
    assert "post" in paths[base + "/{job_id}/cancel"]
    assert "get" in paths[base + "/{job_id}/file"]
    post = paths[base]["post"]
    assert {"202", "400", "404"} <= set(post["responses"])
    ref = post["responses"]["202"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"status", "done", "total", "rate", "secondsLeft", "downloadUrl"} <= set(
        schema["properties"]
    )
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(doc["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]) == {
        "viewId",
        "format",
    }
    file_ok = paths[base + "/{job_id}/file"]["get"]["responses"]["200"]["content"]
    assert {"text/csv", export.FORMATS["xlsx"]} <= set(file_ok)

    listing = paths[base]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 100
    assert set(params["status"]["schema"]["enum"]) == {
        "pending",
        "running",
        "done",
        "failed",
        "cancelled",
    }
    assert {"200", "400", "404"} <= set(listing["responses"])
    ref = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert (
        page["list"]["items"]["$ref"]
        == post["responses"]["202"]["content"]["application/json"]["schema"]["$ref"]
    )
    info = doc["components"]["schemas"][page["pageInfo"]["$ref"].rsplit("/", 1)[1]]
    assert {"totalRows", "page", "pageSize", "isFirstPage", "isLastPage"} <= set(
        info["properties"]
    )


def test_in_the_base_document(user, demo, projects):
    from openapi_spec_validator import validate

    doc = session_client(user).get(f"/api/v2/meta/bases/{demo.pk}/swagger.json").json()
    validate(doc)
    jobs = f"/api/v2/tables/{projects.pk}/export/jobs"
    paths = doc["paths"]
    assert "post" in paths[jobs] and {"get", "delete"} <= set(paths[jobs + "/{jobId}"])
    assert "post" in paths[jobs + "/{jobId}/cancel"]
    assert "get" in paths[jobs + "/{jobId}/file"]
    assert "202" in paths[jobs]["post"]["responses"]
    assert "downloadUrl" in doc["components"]["schemas"]["ExportJob"]["properties"]
    listing = paths[jobs]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"limit", "offset", "status"}
    assert {"200", "400", "404"} <= set(listing["responses"])
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert page["properties"]["list"]["items"] == {
        "$ref": "#/components/schemas/ExportJob"
    }


# The list of one's jobs (GET …/export/jobs): to find a job whose id was lost.


def _made(table, user, *, minutes_ago: int, status="done", **fields) -> ExportJob:
    """An export job as its run leaves it, made `minutes_ago`."""
    job = ExportJob.objects.create(
        table=table,
        view_id="",
        user=user,
        format="csv",
        file_name=f"{table.title}.csv",
        status=status,
        **fields,
    )
    ExportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return job


def test_list_shows_the_callers_jobs_newest_first_as_their_get(
    user, other_user, demo, projects, view, queued
):
    api, _ = _token_client(user)
    first = _start(api, projects, {"viewId": view.pk}, queued)
    exports.run_export(first["id"])
    second = _start(session_client(user), projects, {"format": "xlsx"}, queued)
    ExportJob.objects.filter(pk=first["id"]).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    membership_create(base=demo, user=other_user, role="owner")  # even an owner's
    theirs = _start(session_client(other_user), projects, {}, queued)
    clients = demo.tables.exclude(pk=projects.pk).first()
    elsewhere = _start(api, clients, {}, queued)  # another table's

    r = api.get(_jobs(projects))
    assert r.status_code == 200, r.content
    body = r.json()
    assert ids(body) == [second["id"], first["id"]]
    check_whole_page(api, _jobs(projects), body, total=2)
    assert body["list"][1]["status"] == "done" and body["list"][1]["downloadUrl"]
    # The same user with another credential lists the same jobs; the other user, theirs.
    assert ids(session_client(user).get(_jobs(projects)).json()) == ids(body)
    assert ids(session_client(other_user).get(_jobs(projects)).json()) == [theirs["id"]]
    assert ids(api.get(_jobs(clients)).json()) == [elsewhere["id"]]


def test_list_pages_by_limit_and_offset(user, projects):
    jobs = [_made(projects, user, minutes_ago=m) for m in range(5)]  # newest first
    api, _ = _token_client(user)
    want = [str(j.pk) for j in jobs]

    def page(query):
        r = api.get(f"{_jobs(projects)}?{query}")
        assert r.status_code == 200, r.content
        return r.json()

    check_paging(page, want)


def test_list_filters_by_status(user, projects):
    done = _made(projects, user, minutes_ago=3)
    failed = _made(projects, user, minutes_ago=2, status="failed", error="boom")
    running = _made(projects, user, minutes_ago=1, status="running", done=5)
    api, _ = _token_client(user)
    for status, want in (
        ("done", [done]),
        ("failed", [failed]),
        ("running", [running]),
        ("pending", []),
        ("cancelled", []),
    ):
        body = api.get(f"{_jobs(projects)}?status={status}").json()
        assert ids(body) == [str(j.pk) for j in want], status
        assert body["pageInfo"]["totalRows"] == len(want)
        assert all(j["status"] == status for j in body["list"])
    assert len(api.get(f"{_jobs(projects)}?status=").json()["list"]) == 3


@pytest.mark.parametrize(
    "query, name",
    [
        ("limit=0", "`limit`"),
        ("limit=101", "`limit`"),
        ("limit=ten", "`limit`"),
        ("limit=2.5", "`limit`"),
        ("offset=-1", "`offset`"),
        ("offset=x", "`offset`"),
        ("status=finished", "`status`"),
        ("status=new", "`status`"),  # an import's status: no export job has it
        ("status=DONE", "`status`"),
    ],
)
def test_list_bad_parameters_are_400_naming_them(user, projects, query, name):
    _made(projects, user, minutes_ago=1)
    api, _ = _token_client(user)
    r = api.get(f"{_jobs(projects)}?{query}")
    assert r.status_code == 400, r.content
    assert r.json()["error"] == "INVALID_PARAMETER" and name in r.json()["message"]


def test_list_is_refused_as_one_job_is(user, other_user, demo, projects, queued):
    """Who may not read one job may not list: a stranger, a token of another base (404, as
    for the table), no credentials (401). Viewers and read-only tokens list their own."""
    mine = _made(projects, user, minutes_ago=1)
    one = f"{_jobs(projects)}/{mine.pk}"
    # A token of the user's own other base: the table is outside it.
    other_base = create_demo_base(user, title="other demo")
    narrow, _ = _token_client(user, base=other_base)
    stranger = session_client(other_user)
    for client in (narrow, stranger):
        assert client.get(one).status_code == 404
        r = client.get(_jobs(projects))
        assert r.status_code == 404 and r.json()["error"] == "TABLE_NOT_FOUND"
    assert APIClient().get(_jobs(projects)).status_code == 401
    # The token of the right base lists them.
    wide, _ = _token_client(user, base=demo)
    assert ids(wide.get(_jobs(projects)).json()) == [str(mine.pk)]

    membership_create(base=demo, user=other_user, role="viewer")
    for client in (stranger, _token_client(other_user, read_only=True)[0]):
        assert client.get(_jobs(projects)).json()["list"] == []  # not the owner's
    theirs = _start(stranger, projects, {}, queued)
    reader, _ = _token_client(other_user, read_only=True)
    assert ids(reader.get(_jobs(projects)).json()) == [theirs["id"]]
