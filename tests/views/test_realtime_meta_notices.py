"""Field and role changes are announced by their services (records.meta_events), not by model
signals: one notice per table (schema.changed) or base (access.changed) after the meta DB
commits, none for a rolled-back change."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from bases import schema_services
from bases.models import Field
from bases.services import base_delete, base_sync
from permissions.checks import Actor
from permissions.models import FieldRule, Membership, TableRole
from permissions.services import (
    field_rule_set,
    member_remove,
    member_update,
    membership_create,
    table_role_clear,
    table_role_set,
)
from views.realtime import broadcast

pytestmark = pytest.mark.django_db(transaction=True)  # notices go on commit


class Rollback(Exception):
    pass


@pytest.fixture
def sent(monkeypatch):
    """(event, group) of every notice sent, as if someone watched every table and base."""
    out = []
    monkeypatch.setattr(broadcast, "listening", lambda table_id: True)
    monkeypatch.setattr(broadcast, "anyone_listening", lambda: True)
    monkeypatch.setattr(
        broadcast,
        "send",
        lambda group, message: out.append(
            (message.get("event") or message["type"], group)
        ),
    )
    return out


def schema_of(sent, table) -> int:
    return sent.count(("schema.changed", broadcast.table_group(table.pk)))


def access_of(sent, base) -> int:
    return sent.count(("access.changed", broadcast.access_group(base.pk)))


def rolled_back(fn, **kwargs):
    with pytest.raises(Rollback), transaction.atomic():
        fn(**kwargs)
        raise Rollback


def test_no_model_signal_announces_fields_or_roles():
    for model in (Field, Membership, TableRole, FieldRule):
        assert not post_save.has_listeners(model)
        assert not post_delete.has_listeners(model)


# --- fields: schema.changed ------------------------------------------------------------------


def test_field_create_update_delete_announce_once_each(projects, owner, sent):
    field = schema_services.field_create(
        actor=owner, table=projects, data={"title": "extra", "uidt": "Number"}
    )
    assert sent == [("schema.changed", broadcast.table_group(projects.pk))]
    sent.clear()
    schema_services.field_update(actor=owner, field=field, data={"title": "more"})
    assert sent == [("schema.changed", broadcast.table_group(projects.pk))]
    sent.clear()
    field = schema_services.field_update(
        actor=owner, field=field, data={"column_name": "more_col"}
    )  # DDL, then the metadata re-read: still one notice
    assert sent == [("schema.changed", broadcast.table_group(projects.pk))]
    sent.clear()
    schema_services.field_delete(actor=owner, field=field)
    assert sent == [("schema.changed", broadcast.table_group(projects.pk))]


def test_field_update_rolled_back_announces_nothing(projects, owner, sent):
    field = projects.fields.get(title="name")
    rolled_back(
        schema_services.field_update, actor=owner, field=field, data={"title": "X"}
    )
    assert sent == []
    # The transaction's pending notice went with it: the next change is announced again.
    schema_services.field_update(actor=owner, field=field, data={"title": "Y"})
    assert schema_of(sent, projects) == 1


def test_deleting_a_field_with_a_rule_announces_the_access_change_too(
    demo, projects, owner, sent
):
    field = schema_services.field_create(
        actor=owner, table=projects, data={"title": "secret", "uidt": "Number"}
    )
    field_rule_set(actor=owner, field=field, hidden_below="editor")
    sent.clear()
    schema_services.field_delete(actor=owner, field=field)
    assert schema_of(sent, projects) == 1
    assert access_of(sent, demo) == 1
    assert len(sent) == 2


def test_schema_sync_announces_each_table_once(demo, owner, sent):
    base_sync(actor=owner, base=demo, apply=True)
    tables = list(demo.tables.all())
    assert tables
    for table in tables:
        assert schema_of(sent, table) == 1, table.title
    assert len(sent) == len(tables)


def test_schema_sync_rolled_back_announces_nothing(demo, owner, sent):
    rolled_back(base_sync, actor=owner, base=demo, apply=True)
    assert sent == []


def test_table_delete_announces_the_table_once(demo, owner, sent):
    tasks = demo.tables.get(title="tasks")
    schema_services.table_delete(actor=owner, table=tasks)
    assert schema_of(sent, tasks) == 1


def test_table_delete_with_a_table_role_announces_the_access_change(
    demo, owner, editor, sent
):
    tasks = demo.tables.get(title="tasks")
    table_role_set(actor=owner, table=tasks, user_id=editor.pk, role="viewer")
    sent.clear()
    schema_services.table_delete(actor=owner, table=tasks)
    assert schema_of(sent, tasks) == 1
    assert access_of(sent, demo) == 1


def test_base_delete_announces_its_tables_and_its_members(demo, owner, sent):
    tables = list(demo.tables.all())
    base_id = demo.pk
    base_delete(actor=owner, base=demo)
    for table in tables:
        assert schema_of(sent, table) == 1
    assert sent.count(("access.changed", broadcast.access_group(base_id))) == 1
    assert len(sent) == len(tables) + 1


# --- roles: access.changed -------------------------------------------------------------------


def test_member_add_role_change_and_removal_announce_once_each(
    demo, owner, other_user, sent
):
    membership_create(base=demo, user=other_user, role="editor")
    assert sent == [("access.changed", broadcast.access_group(demo.pk))]
    sent.clear()
    member_update(actor=owner, base=demo, user_id=other_user.pk, role="viewer")
    assert sent == [("access.changed", broadcast.access_group(demo.pk))]
    sent.clear()
    member_remove(actor=owner, base=demo, user_id=other_user.pk)
    assert sent == [("access.changed", broadcast.access_group(demo.pk))]


def test_member_removal_with_table_roles_is_still_one_notice(
    demo, projects, owner, editor, sent
):
    table_role_set(actor=owner, table=projects, user_id=editor.pk, role="viewer")
    sent.clear()
    member_remove(actor=owner, base=demo, user_id=editor.pk)
    assert sent == [("access.changed", broadcast.access_group(demo.pk))]


def test_role_changes_rolled_back_announce_nothing(demo, projects, owner, editor, sent):
    rolled_back(member_update, actor=owner, base=demo, user_id=editor.pk, role="viewer")
    rolled_back(member_remove, actor=owner, base=demo, user_id=editor.pk)
    rolled_back(
        table_role_set, actor=owner, table=projects, user_id=editor.pk, role="none"
    )
    rolled_back(
        field_rule_set,
        actor=owner,
        field=projects.fields.get(title="budget"),
        hidden_below="creator",
    )
    assert sent == []


def test_table_role_set_and_clear_announce_once_each(
    demo, projects, owner, editor, sent
):
    table_role_set(actor=owner, table=projects, user_id=editor.pk, role="viewer")
    assert sent == [("access.changed", broadcast.access_group(demo.pk))]
    sent.clear()
    table_role_clear(actor=owner, table=projects, user_id=editor.pk)
    assert sent == [("access.changed", broadcast.access_group(demo.pk))]


def test_field_rule_set_and_removed_announce_once_each(demo, projects, owner, sent):
    budget = projects.fields.get(title="budget")
    field_rule_set(actor=owner, field=budget, hidden_below="creator")
    assert sent == [("access.changed", broadcast.access_group(demo.pk))]
    sent.clear()
    field_rule_set(actor=owner, field=budget)  # no limits: the rule goes
    assert sent == [("access.changed", broadcast.access_group(demo.pk))]


def test_clearing_a_field_rule_that_is_not_there_announces_nothing(
    projects, owner, sent
):
    field_rule_set(actor=owner, field=projects.fields.get(title="budget"))
    assert sent == []


def test_a_rolled_back_view_change_does_not_silence_the_next_one(projects, user, sent):
    """notices.once forgets a rolled-back transaction's keys (it used to keep them)."""
    from views.services import default_view, view_update

    owner = Actor(user=user)
    view = default_view(projects)
    rolled_back(view_update, actor=owner, view=view, data={"where": "(status,eq,x)"})
    assert sent == []
    view.refresh_from_db()
    view_update(actor=owner, view=view, data={"where": "(status,eq,active)"})
    assert sent == [("view.changed", broadcast.table_group(projects.pk))]
