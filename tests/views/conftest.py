"""Fixtures the views tests share: the demo base (tests/conftest.py's `user` owns it), its
projects table, an owner and an editor of it, and for the export-job tests a view of the
active projects and a record of the export jobs started (not run)."""

import pytest

from bases.demo import create_demo_base
from imports import tasks
from permissions.checks import Actor
from permissions.services import membership_create
from views.services import view_create


@pytest.fixture
def demo(user):
    return create_demo_base(user)


@pytest.fixture
def projects(demo):
    return demo.tables.get(title="projects")


@pytest.fixture
def owner(user):
    return Actor(user=user)


@pytest.fixture
def editor(demo, other_user):
    membership_create(base=demo, user=other_user, role="editor")
    return other_user


@pytest.fixture
def view(projects, owner):
    """A view of the projects that keeps the active ones (a test module may define its own)."""
    status = projects.fields.get(title="status")
    return view_create(
        actor=owner,
        table=projects,
        title="Active",
        data={"where": f"({status.pk},eq,active)"},
    )


@pytest.fixture
def queued(monkeypatch):
    """Export jobs started are recorded, not run (the test runs them)."""
    started: list[str] = []
    monkeypatch.setattr(tasks, "start_export", started.append)
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda fn, using=None, robust=False: fn()
    )
    return started
