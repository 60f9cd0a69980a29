"""Live values of lookups and rollups: a write to the rows they read (a project's budget) sends
the pages of the table that shows them (clients) a refresh of their visible rows, naming the
computed fields; tables whose computed fields do not read the written table hear nothing."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers

from bases.schema_services import field_create
from records.writes import update_rows
from tests.views.test_realtime import connect, next_of, nothing_of, run
from views.realtime import broadcast

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_layer():
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
    broadcast._local.clear()


def test_a_linked_rows_write_refreshes_the_rollup_and_lookup_pages(
    demo, owner, user, web
):
    clients = demo.tables.get(title="clients")
    projects = demo.tables.get(title="projects")
    tasks = demo.tables.get(title="tasks")
    via = clients.fields.get(uidt="LinkToAnotherRecord", related_table=projects)
    total = field_create(
        actor=owner,
        table=clients,
        data={
            "uidt": "Rollup",
            "title": "Total budget",
            "fk_relation_column_id": via.id,
            "fk_rollup_column_id": projects.fields.get(title="budget").id,
            "rollup_function": "sum",
        },
    )
    names = field_create(
        actor=owner,
        table=clients,
        data={
            "uidt": "Lookup",
            "title": "Project names",
            "fk_relation_column_id": via.id,
            "fk_lookup_column_id": projects.fields.get(title="name").id,
        },
    )

    # The grid shows them (a list lookup as chips) and does not offer to edit them.
    rows = web.get(f"/bases/{demo.pk}/tables/{clients.pk}/grid/rows", {"limit": 5})
    assert rows.status_code == 200
    body = rows.content.decode()
    assert body.count('class="chip"') > 5 and "Project " in body

    async def scenario():
        on_clients = await connect(clients, user, "clients-tab")
        on_tasks = await connect(tasks, user, "tasks-tab")
        await sync_to_async(update_rows)(
            projects, {"Id": 1, "budget": 4321}, actor=owner
        )
        msg = await next_of(on_clients, "rows.updated")
        assert msg == {
            "type": "rows.updated",
            "table": clients.pk,
            "ids": [],
            "many": True,
            "fields": sorted([total.id, names.id]),
        }
        # Nothing in tasks reads projects.
        await nothing_of(on_tasks, "rows.updated")
        await on_clients.disconnect()
        await on_tasks.disconnect()

    run(scenario)
