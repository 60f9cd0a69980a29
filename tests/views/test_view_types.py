"""Gallery, kanban and calendar views: settings, pages, moves, additions and refusals."""


import pytest

from bases.demo import create_demo_base
from permissions.checks import Actor
from views.services import view_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(user):
    return create_demo_base(user)


@pytest.fixture
def projects(demo):
    return demo.tables.get(title="projects")


def fid(table, title):
    return table.fields.get(title=title).pk


def page_url(view):
    return f"/bases/{view.table.base_id}/tables/{view.table_id}/views/{view.pk}/"


def vurl(view, tail):
    return f"/bases/{view.table.base_id}/views/{view.pk}/{tail}"


def test_smoke(web, user, projects):
    actor = Actor(user=user)
    g = view_create(actor=actor, table=projects, title="G", type="gallery")
    k = view_create(actor=actor, table=projects, title="K", type="kanban")
    c = view_create(actor=actor, table=projects, title="C", type="calendar")
    for v in (g, k, c):
        r = web.get(page_url(v))
        assert r.status_code == 200, r.content[:3000]
