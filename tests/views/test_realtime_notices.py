"""View and share changes are announced by their services, not by model signals."""

from __future__ import annotations

import pytest
from django.db.models.signals import post_delete, post_init, post_save

from bases.demo import create_demo_base
from permissions.checks import Actor
from views import shares
from views.models import View, ViewShare
from views.realtime import broadcast
from views.services import default_view, view_create, view_delete, view_update

pytestmark = pytest.mark.django_db(transaction=True)  # notices go on commit


@pytest.fixture
def sent(monkeypatch):
    """Every notice sent (they go on commit), as if someone watched every table."""
    out = []
    monkeypatch.setattr(broadcast, "listening", lambda table_id: True)
    monkeypatch.setattr(
        broadcast,
        "table_changed",
        lambda table_id, event, **extra: out.append((event, extra.get("view"))),
    )
    monkeypatch.setattr(
        broadcast, "send", lambda group, message: out.append((message["type"], None))
    )
    return out


@pytest.fixture
def projects(user):
    return create_demo_base(user).tables.get(title="projects")


def test_no_model_signal_announces_views_or_shares():
    for model in (View, ViewShare):
        assert not post_init.has_listeners(model)
        assert not post_save.has_listeners(model)
        assert not post_delete.has_listeners(model)


def test_view_update_announces_what_others_see_only(projects, user, sent):
    owner = Actor(user=user)
    view = default_view(projects)
    view_update(actor=owner, view=view, data={"title": "Renamed"})
    view_update(actor=owner, view=view, data={"options": {"column_widths": {"x": 90}}})
    assert sent == []  # a title or one person's layout: nothing
    view_update(actor=owner, view=view, data={"where": "(status,eq,active)"})
    assert sent == [("view.changed", view.pk)]


def test_deleting_a_shared_view_announces_the_link_then_the_view(projects, user, sent):
    owner = Actor(user=user)
    default_view(projects)
    view = view_create(actor=owner, table=projects, title="Public", type="grid")
    assert sent == []  # a new view changes no page
    share = shares.share_enable(actor=owner, view=view)
    assert sent == [("share.changed", None)]
    shares.share_regenerate(actor=owner, share=share)
    assert len(sent) == 2
    sent.clear()
    view_id = view.pk
    view_delete(actor=owner, view=view)
    assert sent == [("share.changed", None), ("view.changed", view_id)]
