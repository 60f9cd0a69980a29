import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bases import records
from bases.models import Base
from permissions.checks import SYSTEM

pytestmark = pytest.mark.django_db


def test_ensure_admin_and_demo_are_idempotent(capsys, monkeypatch):
    monkeypatch.setenv("NOCO_ADMIN_EMAIL", "boss@example.com")
    monkeypatch.setenv("NOCO_ADMIN_PASSWORD", "a-chosen-password")
    call_command("ensure_admin")
    out = capsys.readouterr().out
    assert "boss@example.com" in out and "a-chosen-password" not in out
    admin = get_user_model().objects.get(email="boss@example.com")
    assert admin.is_superuser and admin.check_password("a-chosen-password")
    call_command("ensure_admin")
    assert capsys.readouterr().out == ""

    call_command("create_demo_base")
    call_command("create_demo_base")  # a second run keeps the first demo
    base = Base.objects.get(title="Demo CRM")
    assert Base.objects.filter(title="Demo CRM").count() == 1
    tables = {t.title: t for t in base.tables.all()}
    assert set(tables) == {"clients", "projects", "tasks"}
    assert (
        len(records.list_records(tables["tasks"], {"limit": 1000}, actor=SYSTEM).rows)
        == 400
    )
    links = {
        (f.table.title, f.options["relation"], f.related_table.title)
        for t in tables.values()
        for f in t.fields.filter(uidt="LinkToAnotherRecord")
    }
    assert links == {
        ("clients", "hm", "projects"),
        ("projects", "bt", "clients"),
        ("projects", "hm", "tasks"),
        ("tasks", "bt", "projects"),
    }
