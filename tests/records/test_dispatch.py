"""One RecordsChanged per write, dispatched in two phases (records/dispatch.py)."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from bases import metacache
from bases.changes import write_origin
from bases.sources import source_alias
from history.models import RecordChange
from nocoplatform.errors import NotFound
from permissions.checks import Actor
from records import dispatch
from records.writes import delete_rows, insert_rows, update_rows
from webhooks import events as webhook_events
from webhooks.models import WebhookEvent
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db


class Undo(Exception):
    pass


@pytest.fixture
def table(make_table):
    tasks = make_table("sqlite", "tasks", "title TEXT", "points INTEGER", title="Work")
    webhook_events.forget()
    return metacache.get_table(tasks.pk)


@pytest.fixture
def heard():
    """Record every event each phase hears, and in which order, next to the real ones."""
    log: list[tuple[str, object]] = []
    dispatch.subscribe(
        "test-in", lambda e: log.append(("in", e)), phase=dispatch.IN_TRANSACTION
    )
    dispatch.subscribe(
        "test-after", lambda e: log.append(("after", e)), phase=dispatch.AFTER_COMMIT
    )
    yield log
    dispatch.unsubscribe("test-in")
    dispatch.unsubscribe("test-after")


@pytest.fixture
def spy_realtime():
    """Replace the realtime subscriber with a spy (restored after)."""
    calls = []
    real = dispatch.unsubscribe("realtime")
    dispatch.subscribe("realtime", calls.append, phase=dispatch.AFTER_COMMIT)
    yield calls
    dispatch.subscribe("realtime", real.handle, phase=real.phase)


def hook_on(table, user, *events):
    webhook_create(
        actor=Actor(user=user),
        table=table,
        data={"title": "t", "url": "http://127.0.0.1:9/", "events": list(events)},
    )
    return metacache.get_table(table.pk)


def test_each_write_is_one_event_bulk_included(table, user, heard):
    actor = Actor(user=user)
    token = write_origin.set("tab-1")
    try:
        ids = insert_rows(
            table, [{"title": "a", "points": 1}, {"title": "b"}], actor=actor
        )
        update_rows(
            table,
            [{"id": ids[0][0], "points": 5}, {"id": ids[1][0], "points": 6}],
            actor=actor,
        )
        delete_rows(table, [{"id": k[0]} for k in ids], actor=actor)
    finally:
        write_origin.reset(token)
    ins = [e for phase, e in heard if phase == "in"]
    after = [e for phase, e in heard if phase == "after"]
    assert [e.op for e in ins] == ["insert", "update", "delete"]
    assert after == ins  # the same event objects, once each
    insert, update, delete = ins
    assert insert.keys == update.keys == delete.keys == tuple(tuple(k) for k in ids)
    assert [{f.title: v for f, v in row.items()} for row in insert.values] == [
        {"title": "a", "points": 1},
        {"title": "b"},
    ]
    points = next(f for f in table.fields.all() if f.title == "points")
    assert update.fields == (points.id,)
    # The before image: the written fields' previous values, read in the write's transaction.
    assert update.before[(str(ids[0][0]),)][points.id] == 1
    assert update.before[(str(ids[1][0]),)][points.id] is None
    assert delete.before[(str(ids[0][0]),)][points.id] == 5
    assert {e.client_id for e in ins} == {"tab-1"}
    assert {e.origin for e in ins} == {"user"}
    assert insert.actor == actor and insert.base_id == table.base_id
    with pytest.raises(AttributeError):
        insert.op = "delete"  # frozen


def test_a_refused_write_makes_no_event(table, user, heard):
    with pytest.raises(NotFound):
        update_rows(table, {"id": 999, "title": "x"}, actor=Actor(user=user))
    assert heard == []


def test_a_rolled_back_write_leaves_no_history_outbox_or_publish(
    table, user, heard, spy_realtime
):
    table = hook_on(table, user, "insert", "update")
    alias = source_alias(table.source)
    with pytest.raises(Undo), transaction.atomic(using=alias):
        insert_rows(table, {"title": "ghost"}, actor=Actor(user=user))
        assert [p for p, _ in heard] == ["in"]  # ran inside the transaction
        raise Undo
    assert [p for p, _ in heard] == ["in"]  # never after commit
    assert spy_realtime == []
    assert not RecordChange.objects.exists()
    assert not WebhookEvent.objects.exists()


def test_after_commit_subscribers_run_once_history_and_outbox_are_saved(
    table, user, spy_realtime
):
    table = hook_on(table, user, "insert")
    alias = source_alias(table.source)
    seen = []

    def after(event):
        seen.append(
            (
                event.op,
                RecordChange.objects.filter(table_id=table.pk).count(),
                WebhookEvent.objects.count(),
            )
        )

    dispatch.subscribe("test-after", after, phase=dispatch.AFTER_COMMIT)
    try:
        with transaction.atomic(using=alias):
            insert_rows(table, [{"title": "a"}, {"title": "b"}], actor=Actor(user=user))
            assert seen == [] and spy_realtime == []  # not before the commit
            assert not RecordChange.objects.exists()
        # Registration order: realtime (views' ready) first, then this one.
        assert [e.op for e in spy_realtime] == ["insert"]
        assert seen == [("insert", 2, 2)]  # two rows: two entries, two webhook calls
    finally:
        dispatch.unsubscribe("test-after")


def test_a_failing_subscriber_is_logged_and_the_write_stands(
    table, user, heard, caplog
):
    def broken(event):
        raise RuntimeError("subscriber down")

    dispatch.subscribe("test-broken-in", broken, phase=dispatch.IN_TRANSACTION)
    dispatch.subscribe("test-broken-after", broken, phase=dispatch.AFTER_COMMIT)
    try:
        with caplog.at_level(logging.ERROR, logger="records.dispatch"):
            ids = insert_rows(table, {"title": "kept"}, actor=Actor(user=user))
    finally:
        dispatch.unsubscribe("test-broken-in")
        dispatch.unsubscribe("test-broken-after")
    assert len(ids) == 1
    assert [p for p, _ in heard] == ["in", "after"]  # the others still ran
    assert RecordChange.objects.filter(table_id=table.pk).count() == 1
    failures = [r for r in caplog.records if "test-broken" in r.getMessage()]
    assert len(failures) == 2


def test_a_failing_prepare_skips_only_that_subscriber(table, user, heard, caplog):
    def broken_prepare(table, op, keys):
        raise RuntimeError("prepare down")

    dispatch.subscribe(
        "test-prep",
        lambda e: heard.append(("prep", e)),
        phase=dispatch.IN_TRANSACTION,
        prepare=broken_prepare,
    )
    try:
        insert_rows(table, {"title": "kept"}, actor=Actor(user=user))
    finally:
        dispatch.unsubscribe("test-prep")
    event = heard[0][1]
    assert "test-prep" not in event.prepared
    assert [p for p, _ in heard] == ["in", "prep", "after"]


def test_the_webhooks_prepare_only_for_watched_kinds(table, user):
    actor = Actor(user=user)
    ids = insert_rows(table, {"title": "a"}, actor=actor)
    assert webhook_events.prepare(table, "update", ids) is None  # no hook: a look-up
    table = hook_on(table, user, "update")
    change = webhook_events.prepare(table, "link", ids)  # a link is an update event
    assert change is not None and change.kind == "update"
    assert webhook_events.prepare(table, "delete", ids) is None


def test_subscribe_refuses_unknown_phases():
    with pytest.raises(ValueError):
        dispatch.subscribe("x", print, phase="later")
    with pytest.raises(ValueError):
        dispatch.subscribe("x", print, phase=dispatch.AFTER_COMMIT, prepare=print)


def test_a_link_is_one_event_naming_both_sides(world, heard, spy_realtime):
    from records.links import link_records
    from tests.permissions.conftest import token_client

    w = world
    clients, projects = w.table("clients"), w.table("projects")
    link = clients.fields.get(uidt="LinkToAnotherRecord", related_table=projects)
    url = f"/api/v2/tables/{clients.pk}/links/{link.pk}/records/5"
    api = token_client(w.tokens["editor"])
    assert api.post(url, [{"Id": 7}, {"Id": 8}], format="json").status_code == 200
    (phase, event), *rest = heard
    assert phase == "in" and [p for p, _ in rest] == ["after"]
    assert (event.op, event.keys, event.targets) == ("link", ((5,),), (7, 8))
    assert event.link.pk == link.pk and event.related.table.pk == projects.pk
    assert event.fields == (link.pk,) and event.origin == "api"
    assert spy_realtime == [event]
    heard.clear()
    owner = Actor(user=w.users["owner"])
    assert link_records(clients, link, 5, [8], actor=owner, unlink=True) == 1
    assert [(p, e.op, e.targets) for p, e in heard] == [
        ("in", "unlink", (8,)),
        ("after", "unlink", (8,)),
    ]
