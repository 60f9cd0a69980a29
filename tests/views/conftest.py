"""Fixtures the views tests share: the demo base (tests/conftest.py's `user` owns it), its
projects table, and an owner and an editor of it."""

import pytest

from bases.demo import create_demo_base
from permissions.checks import Actor
from permissions.services import membership_create


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
