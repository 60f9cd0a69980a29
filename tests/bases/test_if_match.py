"""Optimistic concurrency on the records API: GET gives an ETag (the row's version), PATCH with
`If-Match` answers 412 when the row changed since, and writes nothing."""

import pytest

from bases.demo import create_demo_base
from bases.records import get_record
from permissions.checks import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects(user):
    return create_demo_base(user).tables.get(title="projects")


def rec(table, i=1):
    return f"/api/v2/tables/{table.pk}/records/{i}"


def patch(api, table, body, **headers):
    return api.patch(
        f"/api/v2/tables/{table.pk}/records", body, format="json", **headers
    )


def test_stale_version_is_412_and_writes_nothing(api, projects):
    first = api.get(rec(projects))
    etag = first["ETag"]
    assert etag.startswith('"') and len(etag) > 10
    # Another client changes the row: the version moves.
    assert patch(api, projects, {"Id": 1, "name": "theirs"}).status_code == 200
    assert api.get(rec(projects))["ETag"] != etag
    stale = patch(api, projects, {"Id": 1, "name": "mine"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["error"] == "PRECONDITION_FAILED"
    assert get_record(projects, 1, actor=SYSTEM)["name"] == "theirs"
    # With the current version the write goes through; its version moves again.
    fresh = api.get(rec(projects))["ETag"]
    ok = patch(api, projects, {"Id": 1, "name": "mine"}, HTTP_IF_MATCH=fresh)
    assert ok.status_code == 200 and ok.json() == {"Id": 1}
    assert get_record(projects, 1, actor=SYSTEM)["name"] == "mine"
    assert api.get(rec(projects))["ETag"] not in (etag, fresh)


def test_version_ignores_order_of_reads_and_other_rows(api, projects):
    a = api.get(rec(projects, 2))["ETag"]
    patch(api, projects, {"Id": 3, "name": "other row"})
    assert api.get(rec(projects, 2))["ETag"] == a
    ok = patch(api, projects, {"Id": 2, "budget": 10}, HTTP_IF_MATCH=a)
    assert ok.status_code == 200


def test_without_if_match_last_write_wins_and_star_matches_any(api, projects):
    assert patch(api, projects, {"Id": 1, "name": "one"}).status_code == 200
    assert patch(api, projects, {"Id": 1, "name": "two"}).status_code == 200
    assert get_record(projects, 1, actor=SYSTEM)["name"] == "two"
    star = patch(api, projects, {"Id": 1, "name": "three"}, HTTP_IF_MATCH="*")
    assert star.status_code == 200


def test_if_match_needs_one_record_and_an_existing_one(api, projects):
    etag = api.get(rec(projects))["ETag"]
    bulk = patch(api, projects, [{"Id": 1, "name": "x"}], HTTP_IF_MATCH=etag)
    assert bulk.status_code == 400 and bulk.json()["error"] == "INVALID_BODY"
    missing = patch(api, projects, {"Id": 999999, "name": "x"}, HTTP_IF_MATCH=etag)
    assert missing.status_code == 404


def test_partial_reads_carry_no_etag(api, projects):
    assert "ETag" not in api.get(rec(projects), {"fields": "name"})
