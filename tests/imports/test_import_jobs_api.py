"""The list of one's imports into a table (GET /api/v2/tables/{tableId}/import, imports/api.py,
docs/import-export.md): to find a job whose id was lost — the caller's own only, newest first,
each as its own GET shows it, paged by limit/offset, filtered by status, refused as one job
is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from bases.demo import create_demo_base
from imports import tasks
from imports.models import ImportJob
from permissions.services import api_token_create, membership_create
from tests.job_lists import check_paging, check_whole_page, ids
from tests.permissions.conftest import session_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def queued(monkeypatch, settings, tmp_path):
    """Started jobs are only queued (never run); uploads in a directory of the test's."""
    settings.VAR_DIR = tmp_path / "var"
    runs = []
    monkeypatch.setattr(tasks, "start", runs.append)
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    return runs


@pytest.fixture
def items(make_table):
    return make_table(
        "sqlite", "items", "name VARCHAR(50)", "qty INTEGER", title="Stock"
    )


def _url(table) -> str:
    return f"/api/v2/tables/{table.pk}/import"


def _token(user, **kwargs) -> APIClient:
    _, raw = api_token_create(user=user, name="imports", **kwargs)
    c = APIClient()
    c.credentials(HTTP_XC_TOKEN=raw)
    return c


def _upload(client, table, *, start=True) -> dict:
    data = {"file": SimpleUploadedFile("data.csv", b"name,qty\nfig,2\n")}
    if not start:
        data["start"] = "false"
    r = client.post(_url(table), data, format="multipart")
    assert r.status_code == (202 if start else 201), r.content
    return r.json()


def _made(table, user, *, minutes_ago: int, status="done") -> ImportJob:
    """An import job as its run leaves it, made `minutes_ago`."""
    job = ImportJob.objects.create(
        table=table,
        user=user,
        file_name="data.csv",
        path="",
        encoding="utf-8",
        delimiter=",",
        header=["name"],
        status=status,
    )
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return job


def test_list_shows_the_callers_jobs_newest_first_as_their_get(
    items, make_table, user, other_user, api
):
    started = _upload(api, items)
    ImportJob.objects.filter(pk=started["id"]).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    uploaded = _upload(
        session_client(user), items, start=False
    )  # not started: a preview
    membership_create(base=items.base, user=other_user, role="owner")  # even an owner's
    theirs = _upload(session_client(other_user), items)
    others = make_table("sqlite", "others", "name VARCHAR(50)", title="Others")
    elsewhere = _upload(api, others)  # another table's

    r = api.get(_url(items))
    assert r.status_code == 200, r.content
    body = r.json()
    assert ids(body) == [uploaded["id"], started["id"]]
    check_whole_page(api, _url(items), body, total=2)
    assert [j["status"] for j in body["list"]] == ["new", "pending"]
    assert body["list"][0]["rows"] == [["fig", "2"]]
    # The same user with another credential lists the same jobs; the other user, theirs.
    assert ids(session_client(user).get(_url(items)).json()) == ids(body)
    assert ids(session_client(other_user).get(_url(items)).json()) == [theirs["id"]]
    assert ids(api.get(_url(others)).json()) == [elsewhere["id"]]


def test_list_pages_by_limit_and_offset(items, user, api):
    want = [str(_made(items, user, minutes_ago=m).pk) for m in range(5)]

    def page(query):
        r = api.get(f"{_url(items)}?{query}")
        assert r.status_code == 200, r.content
        return r.json()

    check_paging(page, want)


def test_list_filters_by_status(items, user, api):
    done = _made(items, user, minutes_ago=4)
    failed = _made(items, user, minutes_ago=3, status="failed")
    cancelled = _made(items, user, minutes_ago=2, status="cancelled")
    uploaded = _upload(api, items, start=False)
    for status, want in (
        ("done", [str(done.pk)]),
        ("failed", [str(failed.pk)]),
        ("cancelled", [str(cancelled.pk)]),
        ("new", [uploaded["id"]]),  # uploaded with start=false, not started
        ("running", []),
    ):
        body = api.get(f"{_url(items)}?status={status}").json()
        assert ids(body) == want, status
        assert body["pageInfo"]["totalRows"] == len(want)
    assert len(api.get(_url(items)).json()["list"]) == 4


@pytest.mark.parametrize(
    "query, name",
    [
        ("limit=0", "`limit`"),
        ("limit=101", "`limit`"),
        ("limit=all", "`limit`"),
        ("offset=-5", "`offset`"),
        ("offset=1e3", "`offset`"),
        ("status=uploaded", "`status`"),
        ("status=Done", "`status`"),
    ],
)
def test_list_bad_parameters_are_400_naming_them(items, user, api, query, name):
    _made(items, user, minutes_ago=1)
    r = api.get(f"{_url(items)}?{query}")
    assert r.status_code == 400, r.content
    assert r.json()["error"] == "INVALID_PARAMETER" and name in r.json()["message"]


def test_list_is_refused_as_one_job_is(items, user, other_user):
    """Who may not read one import job may not list: a stranger and a token of another base
    (404, as for the table), viewers and read-only tokens (403: following an import is part
    of importing), no credentials (401). An editor lists their own."""
    mine = _made(items, user, minutes_ago=1)
    one = f"{_url(items)}/{mine.pk}"
    other_base = create_demo_base(user, title="other demo")
    stranger = session_client(other_user)
    for client in (_token(user, base=other_base), stranger):
        assert client.get(one).status_code == 404
        r = client.get(_url(items))
        assert r.status_code == 404 and r.json()["error"] == "TABLE_NOT_FOUND"
    read_only = _token(user, read_only=True)
    assert read_only.get(one).status_code == 403
    assert read_only.get(_url(items)).status_code == 403
    assert APIClient().get(_url(items)).status_code == 401
    assert ids(_token(user, base=items.base).get(_url(items)).json()) == [str(mine.pk)]

    membership_create(base=items.base, user=other_user, role="viewer")
    assert stranger.get(_url(items)).status_code == 403
    # A viewer's bad parameters are still a 403: nothing is read for them.
    assert stranger.get(f"{_url(items)}?limit=0").status_code == 403
    membership_create(base=items.base, user=other_user, role="editor")
    assert stranger.get(_url(items)).json()["list"] == []  # not the owner's
    theirs = _made(items, other_user, minutes_ago=0, status="failed")
    assert ids(stranger.get(_url(items)).json()) == [str(theirs.pk)]


def test_in_the_openapi_document(api):
    doc = api.get("/api/v2/meta/openapi.json").json()
    listing = doc["paths"]["/api/v2/tables/{table_id}/import"]["get"]
    params = {p["name"]: p["schema"] for p in listing["parameters"]}
    assert params["limit"]["maximum"] == 100 and params["offset"]["minimum"] == 0
    assert set(params["status"]["enum"]) == set(ImportJob.Status.values)
    assert {"200", "400", "403", "404"} <= set(listing["responses"])
    ref = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"list", "pageInfo"}
