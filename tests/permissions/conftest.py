"""A base with one member per role, an outsider, API tokens for each, and small builders."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from bases import records
from bases.demo import create_demo_base
from permissions.checks import SYSTEM
from permissions.models import (
    ApiToken,
    Comment,
    FieldRule,
    Invite,
    Membership,
    TableRole,
)
from permissions.services import api_token_create, membership_create

ROLES = ["owner", "creator", "editor", "commenter", "viewer"]


@dataclass
class World:
    base: object
    users: dict  # role or "outsider" -> user
    tokens: dict = field(default_factory=dict)  # role / "outsider" / "readonly" -> raw
    tables: dict = field(default_factory=dict)

    def table(self, title: str):
        return self.tables[title]

    def field(self, table: str, title: str):
        return self.tables[table].fields.get(title=title)


def make_user(email: str):
    return get_user_model().objects.create_user(
        username=email, email=email, password="pw-12345-xyz"
    )


@pytest.fixture
def world(db) -> World:
    owner = make_user("owner@example.com")
    base = create_demo_base(owner)
    users = {"owner": owner}
    for role in ROLES[1:]:
        users[role] = make_user(f"{role}@example.com")
        membership_create(base=base, user=users[role], role=role)
    users["outsider"] = make_user("outsider@example.com")
    w = World(base=base, users=users)
    for who, user in users.items():
        w.tokens[who] = api_token_create(user=user, name=f"{who} token")[1]
    w.tokens["readonly"] = api_token_create(
        user=owner, name="read-only", read_only=True
    )[1]
    w.tables = {t.title: t for t in base.tables.all()}
    return w


def token_client(raw: str) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_XC_TOKEN=raw)
    return c


def session_client(user) -> APIClient:
    c = APIClient()
    c.force_login(user)
    return c


def snapshot(base) -> str:
    """A digest of everything a request could change: meta rows and every user-data row."""
    from bases.models import Base, DataSource, Field, Table
    from views.models import View

    meta = {
        "bases": list(
            Base.objects.order_by("pk").values_list("pk", "title", "description")
        ),
        "sources": list(
            DataSource.objects.order_by("pk").values_list(
                "pk", "meta_version", "allow_data_edit", "allow_schema_edit"
            )
        ),
        "tables": list(Table.objects.order_by("pk").values_list("pk", "title")),
        "fields": list(
            Field.objects.order_by("pk").values_list("pk", "title", "uidt", "options")
        ),
        "views": list(
            View.objects.order_by("pk").values_list(
                "pk",
                "title",
                "where",
                "sort",
                "order",
                "field_order",
                "hidden_fields",
                "options",
            )
        ),
        "members": list(Membership.objects.order_by("pk").values_list("pk", "role")),
        "table_roles": list(TableRole.objects.order_by("pk").values_list("pk", "role")),
        "rules": list(
            FieldRule.objects.order_by("pk").values_list(
                "pk", "hidden_below", "read_only_below"
            )
        ),
        "invites": list(Invite.objects.order_by("pk").values_list("pk", "accepted_at")),
        "comments": list(Comment.objects.order_by("pk").values_list("pk", "text")),
        "tokens": list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at")),
    }
    data = {}
    for table in base.tables.filter(is_junction=False).order_by("pk"):
        data[table.title] = records.list_records(
            table, {"limit": 1000}, actor=SYSTEM
        ).rows
    text = json.dumps([meta, data], default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
