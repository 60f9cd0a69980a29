"""The slow-request log (ops/slowlog.py): what a slow request leaves, what a fast one does not,
secrets kept out, a failure to record never costs the answer, retention, the admin page."""

import datetime as dt
import logging

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from ops.models import SlowRequest
from ops.slowlog import REDACTED, prune
from permissions.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(make_table):
    return make_table(
        "sqlite", "items", "name TEXT", rows=[{"name": "a"}, {"name": "b"}]
    )


def token_client(user, name="ci") -> APIClient:
    _, raw = api_token_create(user=user, name=name)
    c = APIClient()
    c.credentials(HTTP_XC_TOKEN=raw)
    return c


def test_a_slow_api_request_is_recorded_with_route_ids_who_and_sql_time(
    settings, user, items, caplog
):
    settings.NOCO_SLOW_REQUEST_MS = 0.001  # every request takes longer than 1 µs
    c = token_client(user)
    with caplog.at_level(logging.WARNING, logger="nocoplatform.slow"):
        r = c.get(f"/api/v2/tables/{items.id}/records?where=(name,eq,a)")
    assert r.status_code == 200, r.content
    entry = SlowRequest.objects.get()
    assert entry.method == "GET"
    assert entry.route == "api/v2/tables/<str:table_id>/records"
    assert entry.path == f"/api/v2/tables/{items.id}/records"  # no query string
    assert entry.status == 200
    assert entry.table_id == items.id
    assert entry.user == user and entry.who == "ada@example.com (token 'ci')"
    assert entry.duration_ms >= 0
    # The records read went through a timed connection (the user database's and the meta DB's).
    assert entry.sql_count >= 1
    assert 0 <= entry.sql_ms <= entry.duration_ms
    assert "slow request: GET api/v2/tables/<str:table_id>/records 200" in caplog.text


def test_requests_under_the_threshold_leave_nothing(settings, user, items):
    settings.NOCO_SLOW_REQUEST_MS = 60_000
    assert (
        token_client(user).get(f"/api/v2/tables/{items.id}/records").status_code == 200
    )
    settings.NOCO_SLOW_REQUEST_MS = 0  # off
    assert (
        token_client(user, "b").get(f"/api/v2/tables/{items.id}/records").status_code
        == 200
    )
    assert not SlowRequest.objects.exists()


def test_a_share_token_in_the_path_is_never_stored(settings, client):
    settings.NOCO_SLOW_REQUEST_MS = 0.001
    secret = "shr_0123456789abcdefSECRET"
    client.get(f"/s/{secret}/")
    entry = SlowRequest.objects.get()
    assert secret not in entry.path and entry.path == f"/s/{REDACTED}/"
    assert entry.route == "s/<str:token>/" and entry.who == ""


def test_an_error_answer_is_recorded_with_its_status(settings, user):
    settings.NOCO_SLOW_REQUEST_MS = 0.001
    r = token_client(user).get("/api/v2/tables/nope/records")
    assert r.status_code == 404
    assert SlowRequest.objects.get().status == 404


def test_failing_to_record_never_changes_the_answer(
    settings, user, items, monkeypatch, caplog
):
    settings.NOCO_SLOW_REQUEST_MS = 0.001

    def broken(*args, **kwargs):
        raise RuntimeError("meta DB gone")

    monkeypatch.setattr(SlowRequest, "save", broken)
    with caplog.at_level(logging.ERROR, logger="nocoplatform.slow"):
        r = token_client(user).get(f"/api/v2/tables/{items.id}/records")
    assert r.status_code == 200 and len(r.json()["list"]) == 2
    assert "could not record a slow request" in caplog.text


def _entry(days_old: int) -> SlowRequest:
    return SlowRequest.objects.create(
        at=timezone.now() - dt.timedelta(days=days_old),
        method="GET",
        path="/x",
        status=200,
        duration_ms=900,
        sql_ms=800,
    )


def test_records_older_than_the_retention_are_pruned(settings):
    settings.NOCO_SLOW_REQUEST_RETENTION_DAYS = 30
    old, recent = _entry(31), _entry(29)
    assert prune() == 1
    assert list(SlowRequest.objects.all()) == [recent]
    old.pk = None
    old.save()
    call_command("prune_slow_requests")
    assert list(SlowRequest.objects.all()) == [recent]
    settings.NOCO_SLOW_REQUEST_RETENTION_DAYS = 0  # keep for ever
    _entry(400)
    assert prune() == 0 and SlowRequest.objects.count() == 2


def test_admin_lists_and_filters_slow_requests(admin_client):
    _entry(1)  # path "/x"
    SlowRequest.objects.create(
        at=timezone.now(), method="PATCH", path="/fast-sql", status=200, duration_ms=600
    )
    page = admin_client.get("/admin/ops/slowrequest/?sql=mostly&slower_than=500")
    assert page.status_code == 200
    body = page.content.decode()
    assert "89%" in body  # 800 of 900 ms in SQL
    assert "/x" in body and "/fast-sql" not in body  # 0 of 600 ms in SQL: filtered out
    assert admin_client.get("/admin/ops/slowrequest/add/").status_code == 403
