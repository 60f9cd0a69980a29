"""Each base's activity log (audit/): what is recorded, by whom, who may read it, filters,
CSV export, retention, and that a failure to record never undoes the change."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from audit import log
from audit.models import Activity
from bases import schema_services
from bases.demo import create_demo_base
from permissions.checks import Actor
from permissions.services import (
    api_token_create,
    api_token_revoke,
    field_rule_set,
    invite_create,
    member_remove,
    member_update,
    membership_create,
    table_role_set,
)
from views.services import default_view
from views.shares import share_enable, share_revoke
from webhooks.services import webhook_create, webhook_delete

pytestmark = pytest.mark.django_db


def make_user(email):
    return get_user_model().objects.create_user(
        username=email, email=email, password="pw-x-12345"
    )


@pytest.fixture
def w():
    owner = make_user("owner@example.com")
    base = create_demo_base(owner)
    editor = make_user("editor@example.com")
    membership_create(base=base, user=editor, role="editor")
    tables = {t.title: t for t in base.tables.all()}
    return type(
        "W",
        (),
        {
            "owner": owner,
            "actor": Actor(user=owner),
            "base": base,
            "editor": editor,
            "tables": tables,
        },
    )


def actions(base) -> list[tuple[str, str, str]]:
    return [
        (a.who, a.action, a.target)
        for a in Activity.objects.filter(base=base).order_by("id")
    ]


def test_base_creation_and_schema_changes_are_recorded(w):
    first = actions(w.base)
    assert first[0] == ("owner@example.com", "base.create", "Demo CRM")
    assert ("owner@example.com", "table.create", "clients") in first
    assert ("owner@example.com", "link.create", "clients › projects") in first
    Activity.objects.all().delete()
    t = w.tables["clients"]
    field = schema_services.field_create(
        actor=w.actor, table=t, data={"title": "vip", "uidt": "Checkbox"}
    )
    schema_services.field_update(actor=w.actor, field=field, data={"title": "VIP"})
    schema_services.field_delete(actor=w.actor, field=field)
    schema_services.table_update(actor=w.actor, table=t, title="customers")
    assert actions(w.base) == [
        ("owner@example.com", "field.create", "clients › vip"),
        ("owner@example.com", "field.update", "clients › VIP"),
        ("owner@example.com", "field.delete", "clients › VIP"),
        ("owner@example.com", "table.update", "customers"),
    ]
    entries = list(Activity.objects.filter(base=w.base).order_by("id"))
    assert (
        entries[0].details == {"type": "Checkbox"} and entries[0].target_id == field.pk
    )
    assert entries[1].details == {"changed": ["title"]}


def test_members_roles_rules_and_tokens_are_recorded(w):
    Activity.objects.all().delete()
    invite_create(actor=w.actor, base=w.base, email="new@example.com", role="viewer")
    member_update(actor=w.actor, base=w.base, user_id=w.editor.pk, role="creator")
    table_role_set(
        actor=w.actor, table=w.tables["tasks"], user_id=w.editor.pk, role="viewer"
    )
    field_rule_set(
        actor=w.actor,
        field=w.tables["clients"].fields.get(title="email"),
        hidden_below="creator",
    )
    token, _ = api_token_create(user=w.editor, name="ci", base=w.base)
    api_token_revoke(user=w.editor, token_id=token.pk)
    member_remove(actor=w.actor, base=w.base, user_id=w.editor.pk)
    got = actions(w.base)
    assert got == [
        ("owner@example.com", "member.invite", "new@example.com"),
        ("owner@example.com", "member.role", "editor@example.com"),
        ("owner@example.com", "table_role.set", "tasks · editor@example.com"),
        ("owner@example.com", "field_rule.set", "clients › email"),
        ("editor@example.com", "token.create", f"ci ({token.prefix}…)"),
        ("editor@example.com", "token.revoke", f"ci ({token.prefix}…)"),
        ("owner@example.com", "member.remove", "editor@example.com"),
    ]
    role = Activity.objects.get(action="member.role")
    assert role.details == {"before": "editor", "after": "creator"}


def test_shares_and_webhooks_are_recorded_without_secrets(w, settings):
    settings.NOCO_WEBHOOKS_ALLOW_PRIVATE = True
    Activity.objects.all().delete()
    view = default_view(w.tables["projects"])
    share = share_enable(actor=w.actor, view=view)
    share_revoke(actor=w.actor, share=share)
    hook, _ = webhook_create(
        actor=w.actor,
        table=w.tables["projects"],
        data={
            "title": "crm",
            "url": "http://127.0.0.1:9/x?key=s3cret",
            "events": ["insert"],
        },
    )
    webhook_delete(actor=w.actor, webhook=hook)
    assert [a[1] for a in actions(w.base)] == [
        "share.enable",
        "share.revoke",
        "webhook.create",
        "webhook.delete",
    ]
    for entry in Activity.objects.filter(action__startswith="webhook."):
        assert entry.details["host"] == "127.0.0.1"
        assert "s3cret" not in str(entry.details)


def test_only_owners_read_it_with_filters_and_csv(w, client):
    api = APIClient()
    api.force_authenticate(w.owner)
    url = f"/api/v2/meta/bases/{w.base.pk}/activity"
    r = api.get(url, {"kind": "schema", "limit": 2})
    assert r.status_code == 200, r.content
    body = r.json()
    assert len(body["list"]) == 2 and body["pageInfo"]["isLastPage"] is False
    assert all(
        e["action"].split(".")[0] in ("base", "table", "link", "field", "source")
        for e in body["list"]
    )
    assert api.get(url, {"who": "nobody"}).json()["list"] == []
    today = timezone.now().date()
    assert api.get(url, {"from": str(today), "to": str(today)}).json()["list"]
    assert not api.get(url, {"to": str(today - dt.timedelta(days=1))}).json()["list"]
    bad = api.get(url, {"from": "yesterday"})
    assert bad.status_code == 400 and bad.json()["error"] == "INVALID_FILTER"
    assert api.get(url, {"kind": "everything"}).status_code == 400
    assert api.get(url, {"limit": "many"}).status_code == 400
    # A target named like a formula is inert in the CSV.
    schema_services.table_create(actor=w.actor, base=w.base, title="=HYPERLINK(1)")
    csv = b"".join(api.get(url, {"format": "csv"}).streaming_content).decode()
    assert csv.splitlines()[0] == "when (UTC),who,action,what,target id,details"
    assert "'=HYPERLINK(1)" in csv
    editor = APIClient()
    editor.force_authenticate(w.editor)
    assert editor.get(url).status_code == 403
    # The page: owners only, filters kept, a bad date named.
    client.force_login(w.owner)
    page = client.get(
        f"/bases/{w.base.pk}/activity/", {"kind": "schema", "from": "24/12"}
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "must be a date" in text and 'value="24/12"' in text
    assert (
        "created a table"
        in client.get(f"/bases/{w.base.pk}/activity/").content.decode()
    )
    client.force_login(w.editor)
    assert client.get(f"/bases/{w.base.pk}/activity/").status_code == 403


def test_retention_and_a_failed_entry_never_undoes_the_change(w, settings, monkeypatch):
    settings.NOCO_ACTIVITY_DAYS = 30
    old = Activity.objects.create(base=w.base, action="base.update", who="x")
    Activity.objects.filter(pk=old.pk).update(at=timezone.now() - dt.timedelta(days=31))
    assert log.prune() == 1 and not Activity.objects.filter(pk=old.pk).exists()

    def broken(*args, **kwargs):
        raise RuntimeError("meta DB hiccup")

    monkeypatch.setattr(Activity.objects, "create", broken)
    field = schema_services.field_create(
        actor=w.actor, table=w.tables["tasks"], data={"title": "kept", "uidt": "Number"}
    )
    assert field.pk and w.tables["tasks"].fields.filter(title="kept").exists()
