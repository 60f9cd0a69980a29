"""Webhooks fire on inserts, updates and deletes (single and bulk) to a real local receiver."""

import pytest

from permissions.checks import SYSTEM
from webhooks import signing
from webhooks.delivery import drain
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def hook(api, table, **data):
    data.setdefault("title", "to receiver")
    made = api.post(f"/api/v2/meta/tables/{table.pk}/hooks", data, format="json")
    assert made.status_code == 201, made.content
    return made.json()


def records(table):
    return f"/api/v2/tables/{table.pk}/records"


def test_each_event_type_reaches_the_receiver_signed(api, tasks_table, receiver):
    made = hook(
        api, tasks_table, url=receiver.url, events=["insert", "update", "delete"]
    )
    secret = made["secret"]
    assert secret.startswith("whsec_")
    assert "secret" not in api.get(f"/api/v2/meta/hooks/{made['id']}").json()

    rid = api.post(
        records(tasks_table), {"title": "a", "status": "todo"}, format="json"
    )
    rid = rid.json()["id"]
    api.patch(records(tasks_table), {"id": rid, "status": "done"}, format="json")
    api.delete(records(tasks_table), {"id": rid}, format="json")
    drain()

    got = receiver.wait_for(3)
    types = [r.json["type"] for r in got]
    assert types == [
        "records.after.insert",
        "records.after.update",
        "records.after.delete",
    ]
    insert, update, delete = (r.json for r in got)
    assert insert["base_id"] == tasks_table.base_id
    assert insert["data"]["table_id"] == tasks_table.pk
    assert insert["data"]["table_name"] == "tasks"
    assert insert["data"]["rows"] == [
        {"id": rid, "title": "a", "status": "todo", "points": None}
    ]
    assert update["data"]["previous_rows"][0]["status"] == "todo"
    assert update["data"]["rows"][0]["status"] == "done"
    assert delete["data"]["rows"][0]["status"] == "done"
    for r in got:
        assert r.method == "POST"
        assert r.headers["webhook-id"] == r.json["id"]
        assert signing.verify(
            secret,
            r.headers["webhook-id"],
            r.headers["webhook-timestamp"],
            r.body,
            r.headers["webhook-signature"],
        )
        # A tampered body does not verify.
        assert not signing.verify(
            secret,
            r.headers["webhook-id"],
            r.headers["webhook-timestamp"],
            r.body + b" ",
            r.headers["webhook-signature"],
        )
    logs = api.get(f"/api/v2/meta/hooks/{made['id']}/logs").json()["list"]
    assert len(logs) == 3 and all(e["ok"] and e["status"] == 200 for e in logs)
    assert logs[0]["event_type"] == "records.after.delete"  # newest first
    assert '"received"' in logs[0]["response"]


def test_only_subscribed_events_fire_and_custom_method_headers(
    api, tasks_table, receiver
):
    hook(
        api,
        tasks_table,
        url=receiver.url,
        events=["update"],
        method="PUT",
        headers={"Authorization": "Bearer abc"},
    )
    rid = api.post(records(tasks_table), {"title": "a"}, format="json").json()["id"]
    drain()
    assert receiver.requests == []
    api.patch(records(tasks_table), {"id": rid, "points": 3}, format="json")
    drain()
    [r] = receiver.wait_for(1)
    assert r.method == "PUT" and r.headers["Authorization"] == "Bearer abc"


def test_bulk_write_one_call_per_row_or_batched(api, tasks_table, receiver):
    hook(api, tasks_table, url=receiver.url, events=["insert"], title="per row")
    hook(
        api,
        tasks_table,
        url=receiver.url + "?batch",
        events=["insert"],
        batch_size=2,
        title="batched",
    )
    api.post(
        records(tasks_table), [{"title": f"t{i}"} for i in range(5)], format="json"
    )
    drain()
    got = receiver.wait_for(5 + 3)
    per_row = [r.json for r in got if "batch" not in r.path]
    batched = [r.json for r in got if "batch" in r.path]
    assert sorted(len(b["data"]["rows"]) for b in per_row) == [1] * 5
    assert sorted(len(b["data"]["rows"]) for b in batched) == [1, 2, 2]
    titles = sorted(row["title"] for b in batched for row in b["data"]["rows"])
    assert titles == [f"t{i}" for i in range(5)]
    assert len({b["id"] for b in per_row + batched}) == 8  # every call its own event id


def test_condition_becomes_true_vs_every_match(api, tasks_table, receiver):
    hook(
        api,
        tasks_table,
        url=receiver.url + "?becomes",
        events=["insert", "update"],
        condition="(status,eq,done)",
    )
    hook(
        api,
        tasks_table,
        url=receiver.url + "?every",
        events=["update"],
        condition="(status,eq,done)",
        condition_mode="every_match",
    )
    ids = [
        r["id"]
        for r in api.post(
            records(tasks_table),
            [{"title": "a", "status": "todo"}, {"title": "b", "status": "done"}],
            format="json",
        ).json()
    ]
    drain()
    # Insert: only the row that matches.
    first = receiver.wait_for(1)
    assert [r.json["data"]["rows"][0]["title"] for r in first] == ["b"]
    # a: todo -> done starts matching (both fire); b: done -> done edited (only every_match).
    api.patch(
        records(tasks_table),
        [{"id": ids[0], "status": "done"}, {"id": ids[1], "points": 5}],
        format="json",
    )
    drain()
    got = receiver.wait_for(4)[1:]
    becomes = [r.json["data"]["rows"][0]["title"] for r in got if "becomes" in r.path]
    every = sorted(r.json["data"]["rows"][0]["title"] for r in got if "every" in r.path)
    assert becomes == ["a"] and every == ["a", "b"]
    # Leaving the condition fires neither.
    api.patch(records(tasks_table), {"id": ids[0], "status": "todo"}, format="json")
    drain()
    assert len(receiver.requests) == 4


def test_only_when_watched_fields_change(api, tasks_table, receiver):
    hook(api, tasks_table, url=receiver.url, events=["update"], watch_fields=["status"])
    rid = api.post(records(tasks_table), {"title": "a"}, format="json").json()["id"]
    api.patch(records(tasks_table), {"id": rid, "points": 1}, format="json")
    drain()
    assert receiver.requests == []
    api.patch(records(tasks_table), {"id": rid, "status": "x"}, format="json")
    drain()
    assert receiver.wait_for(1)[0].json["data"]["rows"][0]["status"] == "x"


def test_bad_settings_are_refused_with_a_message(api, tasks_table, receiver):
    url = f"/api/v2/meta/tables/{tasks_table.pk}/hooks"
    cases = [
        ({"url": receiver.url}, "title"),
        ({"title": "x", "url": "ftp://example.com/"}, "http"),
        ({"title": "x", "url": receiver.url, "events": ["explode"]}, "events"),
        ({"title": "x", "url": receiver.url, "condition": "(nope,eq,1)"}, "nope"),
        ({"title": "x", "url": receiver.url, "batch_size": 0}, "batch_size"),
        ({"title": "x", "url": receiver.url, "headers": {"A": "b\nc"}}, "headers"),
        ({"title": "x", "url": receiver.url, "method": "DELETE"}, "method"),
    ]
    for body, word in cases:
        res = api.post(url, body, format="json")
        assert res.status_code == 400, (body, res.content)
        assert word in res.json()["message"], res.json()
    assert api.get(url).json()["list"] == []


def test_other_users_cannot_see_or_manage_hooks(api, tasks_table, receiver, other_user):
    from rest_framework.test import APIClient

    made = hook(api, tasks_table, url=receiver.url, events=["insert"])
    stranger = APIClient()
    stranger.force_authenticate(other_user)
    assert stranger.get(f"/api/v2/meta/hooks/{made['id']}").status_code == 404
    assert (
        stranger.get(f"/api/v2/meta/tables/{tasks_table.pk}/hooks").status_code == 404
    )


def test_no_event_rows_without_an_active_hook(api, tasks_table, receiver):
    made = hook(api, tasks_table, url=receiver.url, events=["insert"])
    api.patch(f"/api/v2/meta/hooks/{made['id']}", {"active": False}, format="json")
    api.post(records(tasks_table), {"title": "a"}, format="json")
    assert not WebhookEvent.objects.exists()


def test_a_condition_on_a_deleted_field_skips_only_that_hook(
    api, tasks_table, receiver, sqlite_db
):
    from bases import sync

    hook(
        api,
        tasks_table,
        url=receiver.url + "?broken",
        events=["insert"],
        condition="(points,gt,1)",
    )
    hook(api, tasks_table, url=receiver.url + "?fine", events=["insert"])
    sqlite_db.execute("ALTER TABLE tasks DROP COLUMN points")
    sync.sync(tasks_table.source)
    api.post(records(tasks_table), {"title": "a"}, format="json")
    drain()
    [r] = receiver.wait_for(1)
    assert "fine" in r.path and r.json["data"]["rows"] == [
        {"id": r.json["data"]["rows"][0]["id"], "title": "a", "status": None}
    ]


def test_hooks_are_in_the_meta_openapi(api):
    paths = api.get("/api/v2/meta/openapi.json").json()["paths"]
    for path in (
        "/api/v2/meta/tables/{table_id}/hooks",
        "/api/v2/meta/hooks/{hook_id}",
        "/api/v2/meta/hooks/{hook_id}/test",
        "/api/v2/meta/hooks/{hook_id}/logs",
        "/api/v2/meta/hooks/{hook_id}/logs/{log_id}/resend",
        "/api/v2/meta/hooks/{hook_id}/secret",
        "/api/v2/meta/hooks/{hook_id}/trigger",
    ):
        assert path in paths, sorted(paths)
    assert paths["/api/v2/meta/hooks/{hook_id}"]["get"]["tags"] == ["Webhooks"]


def test_get_is_a_signed_ping_without_body(api, tasks_table, receiver):
    made = hook(api, tasks_table, url=receiver.url, events=["insert"], method="GET")
    api.post(records(tasks_table), {"title": "a"}, format="json")
    drain()
    [r] = receiver.wait_for(1)
    assert r.method == "GET" and r.body == b""
    assert signing.verify(
        made["secret"],
        r.headers["webhook-id"],
        r.headers["webhook-timestamp"],
        b"",
        r.headers["webhook-signature"],
    )


def test_a_row_named_twice_in_a_bulk_update_fires_once(api, tasks_table, receiver):
    hook(api, tasks_table, url=receiver.url, events=["update"])
    rid = api.post(records(tasks_table), {"title": "a"}, format="json").json()["id"]
    api.patch(
        records(tasks_table),
        [{"id": rid, "points": 1}, {"id": rid, "points": 2}],
        format="json",
    )
    drain()
    [r] = receiver.wait_for(1)
    assert r.json["data"]["rows"][0]["points"] == 2


def test_nocodb_shaped_body_is_accepted(api, tasks_table, receiver):
    made = api.post(
        f"/api/v2/meta/tables/{tasks_table.pk}/hooks",
        {
            "title": "from a NocoDB client",
            "event": "after",
            "operation": ["insert", "bulk_update"],
            "version": "v3",
            "notification": {
                "type": "URL",
                "payload": {
                    "method": "POST",
                    "path": receiver.url,
                    "headers": [
                        {"name": "X-Key", "value": "k", "enabled": True},
                        {"name": "X-Off", "value": "no", "enabled": False},
                    ],
                },
            },
            "condition": False,
            "active": True,
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert (
        body["events"] == ["insert", "update"] and body["operation"] == body["events"]
    )
    assert body["notification"]["payload"]["path"] == receiver.url
    changed = api.put(
        f"/api/v2/meta/hooks/{body['id']}",
        {"operation": ["delete"], "event": "after"},
        format="json",
    )
    assert changed.status_code == 200 and changed.json()["events"] == ["delete"]
    api.post(records(tasks_table), {"title": "a"}, format="json")
    drain()
    assert receiver.requests == []


def test_a_write_inside_a_rolled_back_transaction_makes_no_event(
    api, tasks_table, receiver
):
    from django.db import transaction

    from bases import metacache
    from bases.sources import source_alias
    from records.writes import insert_rows

    hook(api, tasks_table, url=receiver.url, events=["insert"])
    table = metacache.get_table(tasks_table.pk)
    alias = source_alias(table.source)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic(using=alias):
        insert_rows(table, {"title": "ghost"}, actor=SYSTEM)
        raise Undo
    assert not WebhookEvent.objects.exists()
    with transaction.atomic(using=alias):
        insert_rows(table, {"title": "kept"}, actor=SYSTEM)
        assert not WebhookEvent.objects.exists()  # not before the commit
    drain()
    assert receiver.wait_for(1)[0].json["data"]["rows"][0]["title"] == "kept"
