"""A new CreatedTime / LastModifiedTime / CreatedBy / LastModifiedBy column is filled from the
record history (history/backfill.py, docs/fields.md "Filled from the record history"), on
external PostgreSQL, MariaDB and SQLite tables and on the built-in store."""

from __future__ import annotations

import io

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from bases import records
from bases.query import dml
from bases.schema_services import field_create, link_create, table_create
from bases.services import base_create, base_delete
from bases.sources import source_alias
from history import backfill, tasks
from history.models import RecordChange
from permissions.checks import SYSTEM, Actor
from permissions.services import membership_create
from records.links import link_records
from records.writes import delete_rows, insert_rows, update_rows

pytestmark = pytest.mark.django_db

KEPT = {
    "Created": "CreatedTime",
    "Modified": "LastModifiedTime",
    "Creator": "CreatedBy",
    "Editor": "LastModifiedBy",
}


@pytest.fixture(params=["pg", "mysql", "sqlite", "store-sqlite", "store-pg"])
def orders(request, make_table, actor, settings):
    """A table `orders` (label) with one row written directly in its database, on each
    external database and on both built-in stores."""
    kind = request.param
    if kind.startswith("store-"):
        if kind == "store-pg":
            request.getfixturevalue("pg_db")  # skips when PostgreSQL is not there
            settings.NOCO_STORE_URL = settings.TEST_POSTGRES_URL
        base = base_create(actor=actor, title="Scratch")
        table = table_create(
            actor=actor,
            base=base,
            title="orders",
            columns=[{"title": "label", "uidt": "SingleLineText"}],
        )
        _direct_insert(table, label="direct")
        yield table
        base_delete(actor=actor, base=base)
        return
    db = request.getfixturevalue(f"{kind}_db")
    table = make_table(db, "orders", "label VARCHAR(50)", rows=[{"label": "direct"}])
    table.source.allow_schema_edit = True
    table.source.save()
    yield table


def _direct_insert(table, **values) -> None:
    """A row written in the database itself, not through the platform."""
    conn = connections[source_alias(table.source)]
    q = conn.ops.quote_name
    columns = [table.fields.get(title=t).column_name for t in values]
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO {q(table.table_name)} ({', '.join(map(q, columns))}) "
            f"VALUES ({', '.join(['%s'] * len(values))})",
            list(values.values()),
        )


def _rows(table) -> dict[str, dict]:
    return {
        r["label"]: r
        for r in records.list_records(table, {"limit": "100"}, actor=SYSTEM)
    }


def _key(table) -> str:
    return next(f.title for f in table.fields.all() if f.is_pk)


def _entry(table, record_id, kind) -> RecordChange:
    return RecordChange.objects.filter(
        table=table, record_id=str(record_id), kind=kind
    ).latest("id")


def _add_kept_fields(table, actor, django_capture_on_commit_callbacks) -> None:
    for title, uidt in KEPT.items():
        with django_capture_on_commit_callbacks(execute=True):
            field_create(actor=actor, table=table, data={"title": title, "uidt": uidt})


def test_new_kept_fields_are_filled_from_the_history(
    orders, actor, user, other_user, django_capture_on_commit_callbacks
):
    membership_create(base=orders.base, user=other_user, role="creator")
    ada, bob = Actor(user=user), Actor(user=other_user)
    (a,), (b,) = insert_rows(orders, [{"label": "a"}, {"label": "b"}], actor=ada)
    ((c,),) = insert_rows(orders, {"label": "c"}, actor=bob)
    key = _key(orders)
    update_rows(orders, {key: a, "label": "a2"}, actor=bob)
    update_rows(orders, {key: c, "label": "c"}, actor=ada)  # changes nothing
    ((gone,),) = insert_rows(orders, {"label": "gone"}, actor=ada)
    delete_rows(orders, {key: gone}, actor=ada)
    # Its id used again by a row written in the database: the history is not about this one.
    _direct_insert(orders, **{key: gone, "label": "reborn"})
    writes = RecordChange.objects.filter(table=orders).count()

    _add_kept_fields(orders, actor, django_capture_on_commit_callbacks)

    rows = _rows(orders)
    # Written outside the platform: unknown.
    direct = rows["direct"]
    assert [direct[t] for t in KEPT] == [None] * 4
    assert [rows["reborn"][t] for t in KEPT] == [None] * 4
    a_insert, a_update = _entry(orders, a, "insert"), _entry(orders, a, "update")
    assert rows["a2"]["Created"] == a_insert.created_at
    assert rows["a2"]["Creator"]["id"] == user.pk
    assert rows["a2"]["Modified"] == a_update.created_at
    assert rows["a2"]["Editor"]["id"] == other_user.pk
    b_insert = _entry(orders, b, "insert")
    assert b_insert.created_at == a_insert.created_at  # one bulk write, one time
    assert rows["b"]["Created"] == rows["b"]["Modified"] == b_insert.created_at
    assert rows["b"]["Creator"]["id"] == rows["b"]["Editor"]["id"] == user.pk
    # An update that changed nothing left no entry, and is no modification here.
    assert rows["c"]["Modified"] == _entry(orders, c, "insert").created_at
    assert rows["c"]["Creator"]["id"] == rows["c"]["Editor"]["id"] == other_user.pk
    # The fill is no record write: no history entry.
    assert RecordChange.objects.filter(table=orders).count() == writes

    # A write after the field was added keeps its own values.
    update_rows(orders, {key: b, "label": "b2"}, actor=bob)
    fresh = _rows(orders)["b2"]
    assert fresh["Modified"] > b_insert.created_at
    assert fresh["Editor"]["id"] == other_user.pk
    assert fresh["Creator"]["id"] == user.pk


def test_a_fill_never_replaces_a_value_written_meanwhile(
    orders, user, other_user, django_capture_on_commit_callbacks
):
    membership_create(base=orders.base, user=other_user, role="creator")
    key = _key(orders)
    ((a,),) = insert_rows(orders, {"label": "a"}, actor=Actor(user=user))
    # The field is added; its fill has not run yet (it was queued).
    field = field_create(
        actor=Actor(user=user),
        table=orders,
        data={"title": "Editor", "uidt": "LastModifiedBy"},
    )
    stale = backfill._history_chunk(orders.pk, None, backfill.CHUNK)
    update_rows(orders, {key: a, "label": "a2"}, actor=Actor(user=other_user))
    assert _rows(orders)["a2"]["Editor"]["id"] == other_user.pk
    # The fill reaches the row with what it read before that write: nothing changes.
    original = backfill._history_chunk
    try:
        backfill._history_chunk = lambda *args: stale if args[1] is None else []
        assert backfill.fill(field).filled == 0
    finally:
        backfill._history_chunk = original
    assert _rows(orders)["a2"]["Editor"]["id"] == other_user.pk


def test_the_fill_is_chunked_with_a_bounded_number_of_statements(
    orders, user, other_user, monkeypatch, django_capture_on_commit_callbacks
):
    membership_create(base=orders.base, user=other_user, role="creator")
    for i in range(30):  # one write per row: 30 different times
        insert_rows(
            orders, {"label": f"r{i}"}, actor=Actor(user=user if i % 2 else other_user)
        )
    monkeypatch.setattr(backfill, "CHUNK", 12)
    queued = []

    def start_fill(field_id, after):
        queued.append(after)
        backfill.run(field_id, after)

    monkeypatch.setattr(tasks, "start_fill", start_fill)
    # Every UPDATE the fill sends is built by one of these (PostgreSQL's goes through the
    # driver's own cursor, unseen by Django's query log).
    updates = []
    for name in ("fill_nulls", "fill_nulls_unnest"):
        builder = getattr(dml, name)
        monkeypatch.setattr(
            dml,
            name,
            lambda *a, _b=builder, _n=name: updates.append(_n) or _b(*a),
        )
    meta = connections["default"]
    with (
        CaptureQueriesContext(meta) as meta_q,
        django_capture_on_commit_callbacks(execute=True),
    ):
        field_create(
            actor=Actor(user=user),
            table=orders,
            data={"title": "Created", "uidt": "CreatedTime"},
        )
    rows = _rows(orders)
    assert all(rows[f"r{i}"]["Created"] is not None for i in range(30))
    assert rows["direct"]["Created"] is None
    # The first chunk ran when the field was made, the rest in the "background".
    assert len(queued) == 1
    history_reads = [
        q for q in meta_q.captured_queries if "history_recordchange" in q["sql"]
    ]
    # 30 rows, 12 record ids a chunk: 2 reads a chunk (the latest entries' ids, then those
    # entries) and 3 UPDATEs, not one per row (on PostgreSQL, joined to arrays; elsewhere a
    # CASE).
    assert len(history_reads) == 6
    kind = orders.source.kind
    assert updates == ["fill_nulls_unnest" if kind == "pg" else "fill_nulls"] * 3


def test_link_changes_are_not_modifications(
    actor, user, settings, django_capture_on_commit_callbacks
):
    base = base_create(actor=actor, title="Links")
    try:
        tasks_t = table_create(
            actor=actor,
            base=base,
            title="Tasks",
            columns=[{"title": "Name", "uidt": "SingleLineText"}],
        )
        projects = table_create(
            actor=actor,
            base=base,
            title="Projects",
            columns=[{"title": "Name", "uidt": "SingleLineText"}],
        )
        link = link_create(
            actor=actor,
            table=tasks_t,
            data={"title": "Projects", "related_table_id": projects.pk, "type": "mm"},
        )
        ((t,),) = insert_rows(tasks_t, {"Name": "t"}, actor=actor)
        ((p,),) = insert_rows(projects, {"Name": "p"}, actor=actor)
        link_records(tasks_t, link, t, [p], actor=actor)
        assert RecordChange.objects.filter(table=tasks_t, kind="link").exists()
        with django_capture_on_commit_callbacks(execute=True):
            field_create(
                actor=actor,
                table=tasks_t,
                data={"title": "Modified", "uidt": "LastModifiedTime"},
            )
        (row,) = records.list_records(tasks_t, {}, actor=SYSTEM)
        assert row["Modified"] == _entry(tasks_t, t, "insert").created_at
    finally:
        base_delete(actor=actor, base=base)


def test_an_interrupted_fill_is_continued_by_the_command(orders, user):
    from django.core.management import CommandError, call_command

    ((a,),) = insert_rows(orders, {"label": "a"}, actor=Actor(user=user))
    # Created without its on-commit work (as if the process stopped before the fill).
    field = field_create(
        actor=Actor(user=user), table=orders, data={"title": "By", "uidt": "CreatedBy"}
    )
    assert _rows(orders)["a"]["By"] is None
    out = io.StringIO()
    call_command("fill_kept_field", field.pk, stdout=out)
    assert out.getvalue().strip() == "1"
    assert _rows(orders)["a"]["By"]["id"] == user.pk
    call_command("fill_kept_field", field.pk, stdout=out)  # again: nothing to do
    assert out.getvalue().split() == ["1", "0"]
    label = orders.fields.get(title="label")
    with pytest.raises(CommandError, match="has the id"):
        call_command("fill_kept_field", label.pk)


def test_rows_from_a_form_or_the_server_get_a_time_and_no_author(
    orders, actor, django_capture_on_commit_callbacks
):
    from views.services import view_create
    from views.shares import share_actor, share_enable

    form = view_create(actor=actor, table=orders, title="Ask", type="form")
    visitor = share_actor(share_enable(actor=actor, view=form))
    insert_rows(orders, {"label": "from a form"}, actor=visitor)
    insert_rows(orders, {"label": "demo"}, actor=SYSTEM)
    _add_kept_fields(orders, actor, django_capture_on_commit_callbacks)
    rows = _rows(orders)
    for label in ("from a form", "demo"):
        assert rows[label]["Creator"] is None and rows[label]["Editor"] is None
        assert rows[label]["Created"] is not None
        assert rows[label]["Modified"] == rows[label]["Created"]


def test_a_fill_whose_process_ended_is_continued_by_the_sweep(
    orders, user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    from history.models import KeptFieldFill
    from imports import recovery

    for i in range(5):
        insert_rows(orders, {"label": f"r{i}"}, actor=Actor(user=user))
    monkeypatch.setattr(backfill, "CHUNK", 2)
    started = []
    # The background part never runs: the process "ended" after the first chunk.
    monkeypatch.setattr(tasks, "start_fill", lambda *a: started.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        field = field_create(
            actor=Actor(user=user),
            table=orders,
            data={"title": "Created", "uidt": "CreatedTime"},
        )
    (marker,) = KeptFieldFill.objects.filter(field=field)
    assert started == [(field.pk, marker.after)] and marker.after
    rows = _rows(orders)
    assert sum(rows[f"r{i}"]["Created"] is None for i in range(5)) == 3
    # Fresh: a sweep leaves it to its runner.
    assert recovery.recover_jobs()["fills continued"] == 0
    settings.NOCO_JOB_STALE_SECONDS = 60
    KeptFieldFill.objects.filter(pk=field.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(seconds=61)
    )
    assert recovery.recover_jobs(dispatch=False)["fills continued"] == 0
    assert recovery.recover_jobs()["fills continued"] == 1
    assert started[-1] == (field.pk, marker.after)
    assert (
        recovery.recover_jobs()["fills continued"] == 0
    )  # taken: its heartbeat is fresh
    backfill.run(*started[-1])  # what the runner does with it
    rows = _rows(orders)
    assert all(rows[f"r{i}"]["Created"] is not None for i in range(5))
    assert not KeptFieldFill.objects.filter(pk=field.pk).exists()


def test_a_process_that_dies_in_the_first_chunk_leaves_a_fill_the_sweep_continues(
    orders, user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The field committed, then its process died while filling the first chunk (in the
    request): the fill was noted before that chunk, so the sweep continues it from the start."""
    import datetime as dt

    from django.utils import timezone

    from history.models import KeptFieldFill
    from imports import recovery

    for i in range(3):
        insert_rows(orders, {"label": f"r{i}"}, actor=Actor(user=user))

    class Died(BaseException):  # not an Exception: nothing on the way catches it
        pass

    def dies(*args, **kwargs):
        raise Died

    monkeypatch.setattr(backfill, "fill", dies)
    with pytest.raises(Died), django_capture_on_commit_callbacks(execute=True):
        field = field_create(
            actor=Actor(user=user),
            table=orders,
            data={"title": "Created", "uidt": "CreatedTime"},
        )
    monkeypatch.undo()
    field = orders.fields.get(title="Created")  # committed before the fill began
    (marker,) = KeptFieldFill.objects.filter(field=field)
    assert marker.after == ""
    assert all(row["Created"] is None for row in _rows(orders).values())
    started = []
    monkeypatch.setattr(tasks, "start_fill", lambda *a: started.append(a))
    settings.NOCO_JOB_STALE_SECONDS = 60
    KeptFieldFill.objects.filter(pk=field.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(seconds=61)
    )
    assert recovery.recover_jobs()["fills continued"] == 1
    assert started == [(field.pk, None)]
    assert backfill.run(*started[-1]).done  # what the runner does with it
    rows = _rows(orders)
    assert all(rows[f"r{i}"]["Created"] is not None for i in range(3))
    assert not KeptFieldFill.objects.filter(pk=field.pk).exists()


def test_a_fill_that_keeps_stalling_is_left_to_the_command(
    orders, user, settings, monkeypatch
):
    import datetime as dt

    from django.utils import timezone

    from history.models import KeptFieldFill

    field = field_create(
        actor=Actor(user=user), table=orders, data={"title": "By", "uidt": "CreatedBy"}
    )
    started = []
    monkeypatch.setattr(tasks, "start_fill", lambda *a: started.append(a))
    old = timezone.now() - dt.timedelta(seconds=settings.NOCO_JOB_STALE_SECONDS + 1)
    KeptFieldFill.objects.create(
        field=field, after="7", heartbeat_at=old, resumed=backfill.RESUMES
    )
    assert backfill.resume_stalled() == 0 and started == []
    assert not KeptFieldFill.objects.filter(pk=field.pk).exists()
    # A deleted field takes its marker with it.
    KeptFieldFill.objects.create(field=field, after="7", heartbeat_at=old)
    field.delete()
    assert not KeptFieldFill.objects.exists()
