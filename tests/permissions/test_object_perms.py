"""Base and table roles mirrored in django-guardian (permissions/object_perms.py)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from guardian.shortcuts import assign_perm, get_objects_for_user, get_perms

from bases import schema_services
from bases.connections.config import ConnectionConfig
from bases.models import Base, Table
from bases.services import base_connect, base_delete, base_sync
from permissions import object_perms
from permissions.checks import ROLE_OPERATIONS, Actor
from permissions.models import (
    BaseUserObjectPermission,
    Membership,
    TableRole,
    TableUserObjectPermission,
)
from permissions.services import (
    invite_accept,
    invite_create,
    member_remove,
    member_update,
    membership_create,
    table_role_clear,
    table_role_set,
)

from .conftest import make_user

# The contract, spelled out (not computed from the code under test).
BASE = {
    "owner": {
        "read_base",
        "comment_base",
        "edit_base_records",
        "build_base",
        "manage_base",
    },
    "creator": {"read_base", "comment_base", "edit_base_records", "build_base"},
    "editor": {"read_base", "comment_base", "edit_base_records"},
    "commenter": {"read_base", "comment_base"},
    "viewer": {"read_base"},
    "outsider": set(),
}
TABLE = {
    "owner": {"read_table", "comment_table", "edit_table_records", "build_table"},
    "creator": {"read_table", "comment_table", "edit_table_records", "build_table"},
    "editor": {"read_table", "comment_table", "edit_table_records"},
    "commenter": {"read_table", "comment_table"},
    "viewer": {"read_table"},
    "none": set(),
    "outsider": set(),
}


def perms(user, obj) -> set[str]:
    obj = type(obj).objects.get(pk=obj.pk)  # no cached answer on the instance
    return set(get_perms(user, obj))


def owner_actor(world) -> Actor:
    return Actor(user=world.users["owner"])


def test_the_permission_table_follows_the_role_operations():
    for role, ops in ROLE_OPERATIONS.items():
        assert object_perms.base_perms(role) == BASE[role]
        assert object_perms.table_perms(role) == TABLE[role]
        for code, op in object_perms.BASE_PERMISSIONS.items():
            assert (code in BASE[role]) == (op in ops)
    assert object_perms.table_perms("owner", "none") == set()
    assert object_perms.table_perms("viewer", "creator") == TABLE["creator"]
    assert object_perms.base_perms(None) == set()


def test_every_role_reads_true_in_guardian(world):
    table = world.table("clients")
    for who, user in world.users.items():
        assert perms(user, world.base) == BASE[who], who
        for t in world.tables.values():
            assert perms(user, t) == TABLE[who], (who, t.title)
    assert object_perms.drift() == []

    def bases_with(user, perm):
        return set(
            get_objects_for_user(user, perm, klass=Base).values_list("pk", flat=True)
        )

    for who, user in world.users.items():
        assert bases_with(user, "bases.read_base") == (
            {world.base.pk} if who != "outsider" else set()
        )
        assert bases_with(user, "bases.manage_base") == (
            {world.base.pk} if who == "owner" else set()
        )
        tables = set(
            get_objects_for_user(user, "bases.edit_table_records", klass=Table)
        )
        assert (table in tables) == (who in ("owner", "creator", "editor"))


def test_member_update_and_remove_rewrite_guardian(world):
    owner = owner_actor(world)
    viewer = world.users["viewer"]
    member_update(actor=owner, base=world.base, user_id=viewer.pk, role="editor")
    assert perms(viewer, world.base) == BASE["editor"]
    assert perms(viewer, world.table("clients")) == TABLE["editor"]
    table_role_set(
        actor=owner, table=world.table("projects"), user_id=viewer.pk, role="creator"
    )
    member_remove(actor=owner, base=world.base, user_id=viewer.pk)
    assert perms(viewer, world.base) == set()
    for t in world.tables.values():
        assert perms(viewer, t) == set()
    assert not BaseUserObjectPermission.objects.filter(user=viewer).exists()
    assert not TableUserObjectPermission.objects.filter(user=viewer).exists()
    assert object_perms.drift() == []


def test_a_member_leaving_loses_their_guardian_rows(world):
    editor = world.users["editor"]
    member_remove(actor=Actor(user=editor), base=world.base, user_id=editor.pk)
    assert perms(editor, world.base) == set()
    assert object_perms.drift() == []


def test_table_overrides_raise_lower_hide_and_clear(world):
    owner = owner_actor(world)
    editor = world.users["editor"]
    clients, deals = world.table("clients"), world.table("projects")
    table_role_set(actor=owner, table=clients, user_id=editor.pk, role="creator")
    assert perms(editor, clients) == TABLE["creator"]
    assert perms(editor, deals) == TABLE["editor"]  # other tables keep the base role
    assert perms(editor, world.base) == BASE["editor"]  # the base role is unchanged
    table_role_set(actor=owner, table=clients, user_id=editor.pk, role="viewer")
    assert perms(editor, clients) == TABLE["viewer"]
    table_role_set(actor=owner, table=clients, user_id=editor.pk, role="none")
    assert perms(editor, clients) == set()
    assert clients not in set(get_objects_for_user(editor, "bases.read_table", Table))
    table_role_clear(actor=owner, table=clients, user_id=editor.pk)
    assert perms(editor, clients) == TABLE["editor"]
    assert object_perms.drift() == []


def test_invite_accept_and_direct_membership_create_write_guardian(world):
    owner = owner_actor(world)
    _, raw, _ = invite_create(
        actor=owner, base=world.base, email="newbie@example.com", role="commenter"
    )
    newbie = make_user("newbie@example.com")
    invite_accept(user=newbie, raw_token=raw)
    assert perms(newbie, world.base) == BASE["commenter"]
    assert perms(newbie, world.table("clients")) == TABLE["commenter"]
    # membership_create also upgrades (base creation, invites for a higher role).
    membership_create(base=world.base, user=newbie, role="creator")
    assert perms(newbie, world.base) == BASE["creator"]
    assert object_perms.drift() == []


def test_a_new_table_gives_every_member_their_rights_there(world):
    table = schema_services.table_create(
        actor=owner_actor(world), base=world.base, title="Invoices"
    )
    for who, user in world.users.items():
        assert perms(user, table) == TABLE[who], who
    assert object_perms.drift() == []


def test_meta_sync_of_new_tables_writes_guardian(db, sqlite_db, user, other_user):
    sqlite_db.execute('CREATE TABLE "a" (id INTEGER PRIMARY KEY, name TEXT)')
    actor = Actor(user=user)
    base, _ = base_connect(
        actor=actor, title="Ext", config=ConnectionConfig.from_url(sqlite_db.url)
    )
    membership_create(base=base, user=other_user, role="viewer")
    assert perms(user, base) == BASE["owner"]
    assert perms(other_user, base.tables.get(table_name="a")) == TABLE["viewer"]
    sqlite_db.execute('CREATE TABLE "b" (id INTEGER PRIMARY KEY, name TEXT)')
    base_sync(actor=actor, base=base, apply=True)
    b = base.tables.get(table_name="b")
    assert perms(user, b) == TABLE["owner"]
    assert perms(other_user, b) == TABLE["viewer"]
    assert object_perms.drift() == []


def test_deleting_a_table_or_base_takes_its_guardian_rows(world):
    owner = owner_actor(world)
    table = schema_services.table_create(actor=owner, base=world.base, title="Scratch")
    assert TableUserObjectPermission.objects.filter(content_object=table).exists()
    schema_services.table_delete(actor=owner, table=table)
    assert not TableUserObjectPermission.objects.filter(
        content_object_id=table.pk
    ).exists()
    base_delete(actor=owner, base=world.base)
    assert not BaseUserObjectPermission.objects.exists()
    assert not TableUserObjectPermission.objects.exists()


def test_drift_reports_tampering_and_the_command_repairs_it(world, capsys):
    viewer = world.users["viewer"]
    base = Base.objects.get(pk=world.base.pk)
    assign_perm("bases.manage_base", viewer, base)  # not what the role says
    TableUserObjectPermission.objects.filter(
        user=world.users["editor"], content_object=world.table("clients")
    ).delete()
    found = object_perms.drift()
    assert any(f"extra: user {viewer.pk} has base.manage_base" in d for d in found)
    assert any(
        f"missing: user {world.users['editor'].pk} lacks table." in d for d in found
    )
    with pytest.raises(CommandError):
        call_command("guardian_drift")
    call_command("guardian_drift", "--fix")
    assert object_perms.drift() == []
    assert perms(viewer, world.base) == BASE["viewer"]
    call_command("guardian_drift")
    assert "guardian matches the roles." in capsys.readouterr().out


def test_data_migration_fills_guardian_from_existing_roles(world):
    owner = owner_actor(world)
    table_role_set(
        actor=owner,
        table=world.table("projects"),
        user_id=world.users["viewer"].pk,
        role="editor",
    )
    table_role_set(
        actor=owner,
        table=world.table("clients"),
        user_id=world.users["creator"].pk,
        role="none",
    )
    expected = object_perms.drift()
    assert expected == []
    # As before the migration: roles stored, guardian empty.
    BaseUserObjectPermission.objects.all().delete()
    TableUserObjectPermission.objects.all().delete()
    assert object_perms.drift() != []
    (path,) = Path(object_perms.__file__).parent.glob(
        "migrations/*_guardian_object_perms.py"
    )
    migration = importlib.import_module(f"permissions.migrations.{path.stem}")
    migration.fill(django_apps, None)
    assert object_perms.drift() == []
    assert Membership.objects.count() == 5 and TableRole.objects.count() == 2


def test_admin_object_permission_page_shows_the_members(world, client):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser(
        username="root@example.com", email="root@example.com", password="pw-root-123"
    )
    client.force_login(admin)
    page = client.get(f"/admin/bases/base/{world.base.pk}/permissions/")
    assert page.status_code == 200
    text = page.content.decode()
    for who in ("owner", "creator", "editor", "commenter", "viewer"):
        assert f"{who}@example.com" in text
    assert "outsider@example.com" not in text
    assert "manage_base" in text or "Manage the base" in text
    table = world.table("clients")
    page = client.get(f"/admin/bases/table/{table.pk}/permissions/")
    assert page.status_code == 200
    assert "viewer@example.com" in page.content.decode()
    editor = world.users["editor"]
    page = client.get(
        f"/admin/bases/base/{world.base.pk}/permissions/user-manage/{editor.pk}/"
    )
    assert page.status_code == 200
