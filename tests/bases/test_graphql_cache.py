"""GraphQL's caches (bases/gql/): a schema change or a permission change is seen by the very
next request, each caller gets the schema of what they may see, and the short path for plain
values (bases/gql/executor.py) answers exactly what graphql-core answers, errors included.

The schema-level tests run twice: without the per-process cache of the base's tables (the
SQLite meta DB of the tests, `make run`) and with it (permissions.authcache, as on a
PostgreSQL meta DB), where this process must forget the cached answer as its own change
commits.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    execute_sync,
    parse,
)
from rest_framework.test import APIClient

from bases.demo import create_demo_base
from bases.gql.executor import VALUE, RecordExecutor
from bases.gql.schema import schema_for
from bases.gql.types import BigInt
from bases.schema_services import field_update
from permissions import authcache
from permissions.checks import Actor
from permissions.services import (
    api_token_create,
    field_rule_set,
    member_update,
    membership_create,
)
from tests.conftest import service_missing

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["no cache", "authcache"])
def tables_cache(request, monkeypatch):
    """None, or a listening permissions.authcache installed as this process's cache."""
    if request.param == "no cache":
        monkeypatch.setattr(authcache, "enabled", lambda: False)
        monkeypatch.setattr(authcache, "_cache", None)
        yield None
        return
    import psycopg

    parts = urlsplit(settings.TEST_POSTGRES_URL)
    info = {
        "dbname": parts.path.lstrip("/"),
        "user": parts.username or "postgres",
        "host": parts.hostname,
        "port": parts.port or 5432,
    }
    try:
        psycopg.connect(**info, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        service_missing("PostgreSQL", exc)
    cache = authcache.AuthCache(info)
    deadline = time.monotonic() + 5
    while not cache.listening and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.listening, "the listener did not connect"
    monkeypatch.setattr(authcache, "_cache", cache)
    monkeypatch.setattr(authcache, "_cache_pid", os.getpid())
    yield cache
    cache.stop()


@pytest.fixture
def demo(user):
    return create_demo_base(user)


def _member(django_user_model, demo, role, name=None):
    name = name or role
    u = django_user_model.objects.create_user(
        username=f"{name}@example.com",
        email=f"{name}@example.com",
        password="pw-x-12345",
    )
    membership_create(base=demo, user=u, role=role)
    return u


def _token_client(user):
    c = APIClient()
    c.credentials(HTTP_XC_TOKEN=api_token_create(user=user, name="t")[1])
    return c


def gql(client, demo, query, status=200):
    response = client.post(
        f"/api/v2/bases/{demo.pk}/graphql", {"query": query}, format="json"
    )
    assert response.status_code == status, response.content
    return response.json()


def fields_of(client, demo, type_name="Clients") -> set[str]:
    answer = gql(
        client, demo, f'{{ __type(name: "{type_name}") {{ fields {{ name }} }} }}'
    )
    return {f["name"] for f in answer["data"]["__type"]["fields"]}


def mutations_of(client, demo) -> set[str]:
    answer = gql(client, demo, "{ __schema { mutationType { fields { name } } } }")
    mutation = answer["data"]["__schema"]["mutationType"]
    return {f["name"] for f in mutation["fields"]} if mutation else set()


def test_a_schema_change_is_seen_by_the_next_request(
    tables_cache, demo, user, django_user_model, django_capture_on_commit_callbacks
):
    viewer = _token_client(_member(django_user_model, demo, "viewer"))
    assert "city" in fields_of(viewer, demo)
    gql(viewer, demo, "{ clients(limit: 1) { list { city } } }")
    if tables_cache is not None:
        assert any(k[0] == "base_tables" for k in tables_cache._entries)
    city = demo.tables.get(title="clients").fields.get(title="city")
    with django_capture_on_commit_callbacks(execute=True):
        field_update(actor=Actor(user=user), field=city, data={"title": "town"})
    got = fields_of(viewer, demo)
    assert "town" in got and "city" not in got
    gql(viewer, demo, "{ clients(limit: 1) { list { city } } }", status=400)
    rows = gql(viewer, demo, "{ clients(limit: 2) { list { town } } }")
    assert len(rows["data"]["clients"]["list"]) == 2


def test_a_hidden_field_is_gone_from_the_schema_after_the_permission_change(
    tables_cache, demo, user, django_user_model, django_capture_on_commit_callbacks
):
    viewer_user = _member(django_user_model, demo, "viewer")
    viewer = _token_client(viewer_user)
    assert "email" in fields_of(viewer, demo)  # the schema is built and cached
    email = demo.tables.get(title="clients").fields.get(title="email")
    with django_capture_on_commit_callbacks(execute=True):
        field_rule_set(actor=Actor(user=user), field=email, hidden_below="editor")
    assert "email" not in fields_of(viewer, demo)
    answer = gql(viewer, demo, "{ clients { list { email } } }", status=400)
    assert "email" in answer["errors"][0]["message"]
    # The same caller raised to editor sees it at once, and viewers still do not.
    other = _token_client(_member(django_user_model, demo, "viewer", "viewer2"))
    with django_capture_on_commit_callbacks(execute=True):
        member_update(
            actor=Actor(user=user), base=demo, user_id=viewer_user.pk, role="editor"
        )
    assert "email" in fields_of(viewer, demo)
    assert "email" not in fields_of(other, demo)


def test_each_role_gets_the_schema_of_what_it_sees(demo, user, django_user_model):
    clients_table = demo.tables.get(title="clients")
    email = clients_table.fields.get(title="email")
    city = clients_table.fields.get(title="city")
    field_rule_set(actor=Actor(user=user), field=email, hidden_below="editor")
    # A viewer and a commenter may write nothing: only the fields they see differ.
    field_rule_set(actor=Actor(user=user), field=city, hidden_below="commenter")
    viewers = [_member(django_user_model, demo, "viewer", f"viewer{i}") for i in (1, 2)]
    editor = _member(django_user_model, demo, "editor")
    clients = {
        "viewer": _token_client(viewers[0]),
        "commenter": _token_client(_member(django_user_model, demo, "commenter")),
        "editor": _token_client(editor),
        "owner": _token_client(user),
    }
    # Alternately, so that a schema cached for one role is on hand for the next caller.
    for _ in range(2):
        for role in ("viewer", "commenter", "viewer", "editor", "owner", "viewer"):
            seen, mutations = (
                fields_of(clients[role], demo),
                mutations_of(clients[role], demo),
            )
            assert ("email" in seen) == (role in ("editor", "owner")), role
            assert ("city" in seen) == (role != "viewer"), role
            if role in ("viewer", "commenter"):
                assert mutations == set()
            elif role == "editor":
                assert "clients_update" in mutations
                assert "clients_create" not in mutations
            else:
                assert {"clients_create", "clients_delete"} <= mutations
    # Callers who see the same share one schema; another view never gets it.
    one = schema_for(demo.pk, Actor(user=viewers[0]))[0]
    assert schema_for(demo.pk, Actor(user=viewers[1]))[0] is one
    assert schema_for(demo.pk, Actor(user=editor))[0] is not one


# --- the executor's short path ---------------------------------------------------------------


def _records_schema():
    def read(key):
        return lambda row: row.get(key)

    record = GraphQLObjectType(
        "Rec",
        {
            "a": GraphQLField(
                GraphQLString,
                resolve=lambda row, info: row.get("a"),
                extensions={VALUE: read("a")},
            ),
            "n": GraphQLField(
                GraphQLNonNull(BigInt),
                resolve=lambda row, info: row.get("n"),
                extensions={VALUE: read("n")},
            ),
            "self": GraphQLField(
                GraphQLObjectType("Inner", {"a": GraphQLField(GraphQLString)}),
                resolve=lambda row, info: {"a": row.get("a")},
            ),
        },
        extensions={VALUE: True},
    )
    return GraphQLSchema(
        GraphQLObjectType(
            "Query",
            {
                "recs": GraphQLField(
                    GraphQLList(GraphQLNonNull(record)),
                    resolve=lambda root, info: root,
                ),
                "one": GraphQLField(record, resolve=lambda root, info: root[0]),
            },
        )
    )


@pytest.mark.parametrize(
    "rows",
    [
        [{"a": "x", "n": 1}, {"a": None, "n": 2**40}, {"a": 3, "n": "12"}],
        [{"a": "x", "n": 1}, {"a": {"not": "a string"}, "n": 2}],  # String refuses it
        [{"a": "x", "n": 1}, {"a": "y", "n": None}],  # null for a non-null field
        [{"a": "x", "n": 1}, {"a": "y", "n": 2**70}],  # BigInt refuses it
    ],
)
@pytest.mark.parametrize(
    "query",
    [
        "{ recs { a n } }",
        "{ recs { n ... on Rec { a } } one { a } }",
        "{ recs { __typename a self { a } } }",
        "{ recs { b: a a @skip(if: true) n } }",
    ],
)
def test_plain_values_answer_what_graphql_core_answers(rows, query):
    schema = _records_schema()
    document = parse(query)
    ours = execute_sync(schema, document, rows, executor_class=RecordExecutor)
    theirs = execute_sync(schema, document, rows)
    assert ours.data == theirs.data
    assert [e.formatted for e in ours.errors or ()] == [
        e.formatted for e in theirs.errors or ()
    ]
