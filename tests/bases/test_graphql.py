"""GraphQL per base (bases/gql/): the same records, rules and side effects as REST."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from bases.demo import create_demo_base
from bases.sources import source_alias
from history.models import RecordChange
from permissions.checks import Actor
from permissions.services import api_token_create, field_rule_set, membership_create
from webhooks.models import WebhookEvent
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(user):
    return create_demo_base(user)


def _member(django_user_model, demo, role):
    u = django_user_model.objects.create_user(
        username=f"{role}@example.com",
        email=f"{role}@example.com",
        password="pw-x-12345",
    )
    membership_create(base=demo, user=u, role=role)
    return u


@pytest.fixture
def as_viewer(django_user_model, demo):
    """A viewer calling with an API token (xc-token), as a script would."""
    raw = api_token_create(user=_member(django_user_model, demo, "viewer"), name="t")[1]
    c = APIClient()
    c.credentials(HTTP_XC_TOKEN=raw)
    return c


@pytest.fixture
def as_editor(django_user_model, demo):
    c = APIClient()
    c.force_login(_member(django_user_model, demo, "editor"))
    return c


@pytest.fixture
def as_owner(user):
    c = APIClient()
    c.force_login(user)
    return c


def gql(client, demo, query, variables=None, status=200):
    body = {"query": query}
    if variables is not None:
        body["variables"] = variables
    response = client.post(f"/api/v2/bases/{demo.pk}/graphql", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def codes(answer):
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


def test_list_follows_rest_where_sort_limit_and_cursor(as_viewer, demo):
    projects = demo.tables.get(title="projects")
    params = {"where": "(status,eq,active)", "sort": "-budget,name", "limit": 7}
    rest = as_viewer.get(f"/api/v2/tables/{projects.pk}/records", params).json()
    q = """query($c: String) { projects(where: "(status,eq,active)",
        sort: "-budget,name", limit: 7, cursor: $c) {
          list { _id _display name budget done } pageInfo { totalRows next isLastPage } } }"""
    page = gql(as_viewer, demo, q)["data"]["projects"]
    assert [r["name"] for r in page["list"]] == [r["name"] for r in rest["list"]]
    assert [str(r["Id"]) for r in rest["list"]] == [r["_id"] for r in page["list"]]
    assert page["list"][0]["_display"] == page["list"][0]["name"]
    assert page["pageInfo"]["totalRows"] == rest["pageInfo"]["totalRows"]
    # REST's cursor and GraphQL's are the same thing: the next page is REST's next page.
    rest2 = as_viewer.get(
        f"/api/v2/tables/{projects.pk}/records",
        {**params, "cursor": rest["pageInfo"]["next"]},
    ).json()
    page2 = gql(as_viewer, demo, q, {"c": page["pageInfo"]["next"]})
    assert [r["name"] for r in page2["data"]["projects"]["list"]] == [
        r["name"] for r in rest2["list"]
    ]
    one = gql(
        as_viewer,
        demo,
        '{ projects_get(id: "3") { _id name } missing: projects_get(id: "99999") { _id } projects_count(where: "(status,eq,active)") }',
    )["data"]
    assert one["projects_get"]["_id"] == "3" and one["missing"] is None
    assert one["projects_count"] == rest["pageInfo"]["totalRows"]


def test_viewer_cannot_mutate_and_has_no_mutations_in_schema(as_viewer, demo):
    answer = gql(
        as_viewer,
        demo,
        'mutation { clients_create(data: {name: "x"}) { _id } }',
        status=403,
    )
    assert codes(answer) == ["FORBIDDEN"]
    schema = gql(as_viewer, demo, "{ __schema { mutationType { name } } }")
    assert schema["data"]["__schema"]["mutationType"] is None


def test_hidden_field_is_absent_from_schema_and_queries(
    as_viewer, as_owner, demo, user
):
    clients = demo.tables.get(title="clients")
    field_rule_set(
        actor=Actor(user=user),
        field=clients.fields.get(title="email"),
        hidden_below="editor",
    )
    q = '{ __type(name: "Clients") { fields { name } } }'
    viewer_fields = {
        f["name"] for f in gql(as_viewer, demo, q)["data"]["__type"]["fields"]
    }
    owner_fields = {
        f["name"] for f in gql(as_owner, demo, q)["data"]["__type"]["fields"]
    }
    assert "email" in owner_fields and "email" not in viewer_fields
    assert {"name", "city", "_id"} <= viewer_fields
    answer = gql(as_viewer, demo, "{ clients { list { name email } } }", status=400)
    assert "email" in answer["errors"][0]["message"]
    # Nor through a filter or sort: like REST, a hidden field is an unknown one.
    answer = gql(
        as_viewer, demo, '{ clients(where: "(email,like,%a%)") { list { name } } }'
    )
    assert answer["data"] is None and codes(answer) == ["FIELD_NOT_FOUND"]


def test_mutations_write_history_and_webhook_outbox(as_editor, as_owner, demo, user):
    clients = demo.tables.get(title="clients")
    webhook_create(
        actor=Actor(user=user),
        table=clients,
        data={
            "title": "t",
            "url": "http://127.0.0.1:9/",
            "events": ["insert", "update", "delete"],
        },
    )
    history0, events0 = RecordChange.objects.count(), WebhookEvent.objects.count()
    # An editor updates (one and many) but may neither create nor delete.
    one = gql(
        as_editor,
        demo,
        'mutation { clients_update(data: {_id: "1", city: "Berlin"}) { _id name city } }',
    )["data"]["clients_update"]
    assert one["_id"] == "1" and one["city"] == "Berlin" and one["name"]
    changed = gql(
        as_editor,
        demo,
        "mutation($d: [ClientsPatch!]!) { clients_update_many(data: $d) { _id name } }",
        {"d": [{"_id": i, "name": f"renamed {i}"} for i in ("2", "3")]},
    )["data"]["clients_update_many"]
    assert [r["name"] for r in changed] == ["renamed 2", "renamed 3"]
    for mutation in (
        'clients_create(data: {name: "x"}) { _id }',
        'clients_delete(id: "1")',
    ):
        answer = gql(as_editor, demo, f"mutation {{ {mutation} }}", status=403)
        assert codes(answer) == ["FORBIDDEN"]
    # The owner creates and deletes.
    made = gql(
        as_owner,
        demo,
        """mutation { one: clients_create(data: {name: "Acme", city: "Lisbon"}) {
            _id name city }
          many: clients_create_many(data: [{name: "B1"}, {name: "B2"}]) { _id name } }""",
    )["data"]
    assert made["one"]["name"] == "Acme" and made["one"]["city"] == "Lisbon"
    assert [r["name"] for r in made["many"]] == ["B1", "B2"]
    ids = [r["_id"] for r in made["many"]]
    gone = gql(
        as_owner,
        demo,
        "mutation($ids: [ID!]!) { clients_delete_many(ids: $ids) }",
        {"ids": ids},
    )
    assert gone["data"]["clients_delete_many"] == ids
    # 3 updates, 3 inserts and 2 deletes: each in the history and the webhook outbox, as
    # the same writes through REST are.
    assert RecordChange.objects.count() - history0 == 8
    assert WebhookEvent.objects.count() - events0 == 8


def test_owner_deletes_and_bad_values_are_errors_not_500(as_owner, demo):
    answer = gql(
        as_owner,
        demo,
        'mutation { projects_create(data: {name: "x", budget: 1.5, status: "nope"}) { _id } }',
    )
    assert answer["data"] is None and codes(answer) == ["INVALID_VALUE"], answer
    made = gql(
        as_owner, demo, 'mutation { clients_create(data: {name: "tmp"}) { _id } }'
    )
    rid = made["data"]["clients_create"]["_id"]
    gone = gql(as_owner, demo, f'mutation {{ clients_delete(id: "{rid}") }}')
    assert gone["data"]["clients_delete"] == rid
    missing = gql(as_owner, demo, f'mutation {{ clients_delete(id: "{rid}") }}')
    assert codes(missing) == ["RECORD_NOT_FOUND"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ clients { list { name } "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": ""}, "INVALID_BODY"),
        ({"query": "{ clients { list { name } } }", "variables": [1]}, "INVALID_BODY"),
        (
            {
                "query": "query($l: Int) { clients(limit: $l) { list { name } } }",
                "variables": {"l": "x"},
            },
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ],
)
def test_malformed_requests_are_400(as_owner, demo, body, code):
    response = as_owner.post(f"/api/v2/bases/{demo.pk}/graphql", body, format="json")
    assert response.status_code == 400, response.content
    data = response.json()
    assert (data.get("error") or codes(data)[0]) == code


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ('where: "(name,eq"', "WHERE_SYNTAX"),
        ('sort: "nope"', "FIELD_NOT_FOUND"),
        ("limit: 5000", "INVALID_PARAMETER"),
        ('cursor: "garbage"', "INVALID_CURSOR"),
    ],
)
def test_bad_list_arguments_are_graphql_errors(as_owner, demo, args, code):
    answer = gql(as_owner, demo, f"{{ clients({args}) {{ list {{ name }} }} }}")
    assert answer["data"] is None and codes(answer) == [code], answer


def test_depth_and_cost_limits(as_owner, demo, settings):
    deep = (
        "{ clients { list { projects { clients { projects { tasks { title } } } } } } }"
    )
    settings.NOCO_GRAPHQL_MAX_DEPTH = 5
    answer = gql(as_owner, demo, deep, status=400)
    assert codes(answer) == ["QUERY_TOO_DEEP"]
    settings.NOCO_GRAPHQL_MAX_DEPTH = 10
    costly = """{ clients(limit: 1000) { list { name projects(limit: 1000) {
        name tasks(limit: 1000) { title } } } } }"""
    answer = gql(as_owner, demo, costly, status=400)
    assert codes(answer) == ["QUERY_TOO_COSTLY"]
    assert "limit" in answer["errors"][0]["message"]


def test_nested_links_cost_one_query_per_link_field_whatever_the_page_size(
    as_owner, demo
):
    """Never one query per row: pages of 10 and 30 run the same number of statements (both
    pages have more after them, so both count their totalRows)."""
    clients = demo.tables.get(title="clients")
    q = """query($n: Int) {
      projects(limit: $n, sort: "name") { list { name clients { _display city } tasks { title done } } }
      clients(limit: $n) { list { name projects(limit: 2) { name tasks { title } } } } }"""
    gql(as_owner, demo, q, {"n": 5})  # warm the metadata and row-estimate caches
    counts = []
    for n in (10, 30):
        with CaptureQueriesContext(connections[source_alias(clients.source)]) as ctx:
            data = gql(as_owner, demo, q, {"n": n})["data"]
        assert len(data["projects"]["list"]) == n
        assert all(p["clients"]["_display"] for p in data["projects"]["list"])
        assert any(c["projects"] for c in data["clients"]["list"])
        assert all(len(c["projects"]) <= 2 for c in data["clients"]["list"])
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


def test_nested_links_match_rest(as_owner, demo):
    """The projects nested under a client are those REST lists for that client's link."""
    clients = demo.tables.get(title="clients")
    link = clients.fields.get(title="projects")
    data = gql(
        as_owner,
        demo,
        "{ clients(limit: 3) { list { _id projects(limit: 100) { _id } } } }",
    )
    for c in data["data"]["clients"]["list"]:
        rest = as_owner.get(
            f"/api/v2/tables/{clients.pk}/links/{link.pk}/records/{c['_id']}",
            {"limit": 100},
        ).json()["list"]
        assert sorted(str(r["Id"]) for r in rest) == sorted(
            p["_id"] for p in c["projects"]
        )


def test_nested_lists_take_rest_where_and_sort(as_owner, demo):
    """A nested link list filters and orders its records with REST's grammar: each
    client's projects are those REST's links endpoint lists with the same where and sort,
    in the same order."""
    clients = demo.tables.get(title="clients")
    link = clients.fields.get(title="projects")
    where, sort = "(status,neq,done)", "-budget,name"
    data = gql(
        as_owner,
        demo,
        """query($w: String) { clients(limit: 6) { list { _id
            projects(where: $w, sort: "-budget,name", limit: 100) { _id status budget }
            first: projects(sort: "name", limit: 1) { name } } } }""",
        {"w": where},
    )["data"]["clients"]["list"]
    assert any(len(c["projects"]) > 1 for c in data)
    for c in data:
        rest = as_owner.get(
            f"/api/v2/tables/{clients.pk}/links/{link.pk}/records/{c['_id']}",
            {"where": where, "sort": sort, "limit": 100},
        ).json()["list"]
        assert [str(r["Id"]) for r in rest] == [p["_id"] for p in c["projects"]]
        assert all(p["status"] != "done" for p in c["projects"])
        every = as_owner.get(
            f"/api/v2/tables/{clients.pk}/links/{link.pk}/records/{c['_id']}",
            {"sort": "name", "limit": 1},
        ).json()["list"]
        assert [r["name"] for r in every] == [p["name"] for p in c["first"]]


def test_nested_where_and_sort_keep_one_query_per_link_field(as_owner, demo):
    clients = demo.tables.get(title="clients")
    q = """query($n: Int) { clients(limit: $n, sort: "name") { list { name
        projects(where: "(status,eq,active)", sort: "-budget", limit: 3) {
          name tasks(where: "(done,eq,false)", sort: "title") { title } } } } }"""
    gql(as_owner, demo, q, {"n": 5})  # warm the caches
    counts = []
    for n in (10, 30):
        with CaptureQueriesContext(connections[source_alias(clients.source)]) as ctx:
            data = gql(as_owner, demo, q, {"n": n})["data"]["clients"]["list"]
        assert len(data) == n
        assert any(c["projects"] for c in data)
        for c in data:
            tasks = [t["title"] for p in c["projects"] for t in p["tasks"]]
            assert len(c["projects"]) <= 3
            for p in c["projects"]:
                titles = [t["title"] for t in p["tasks"]]
                assert titles == sorted(titles), tasks
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ('where: "(name,eq"', "WHERE_SYNTAX"),
        ('where: "(nope,eq,1)"', "FIELD_NOT_FOUND"),
        ('sort: "nope"', "FIELD_NOT_FOUND"),
    ],
)
def test_bad_nested_list_arguments_are_graphql_errors(as_owner, demo, args, code):
    answer = gql(
        as_owner,
        demo,
        f"{{ clients(limit: 2) {{ list {{ projects({args}) {{ name }} }} }} }}",
    )
    assert answer["data"] is None and codes(answer) == [code], answer


def test_nested_where_cannot_name_a_hidden_field(as_viewer, demo, user):
    projects = demo.tables.get(title="projects")
    field_rule_set(
        actor=Actor(user=user),
        field=projects.fields.get(title="budget"),
        hidden_below="editor",
    )
    for args in ('where: "(budget,gt,0)"', 'sort: "-budget"'):
        answer = gql(
            as_viewer,
            demo,
            f"{{ clients(limit: 2) {{ list {{ projects({args}) {{ name }} }} }} }}",
        )
        assert answer["data"] is None and codes(answer) == ["FIELD_NOT_FOUND"], args


def test_graphiql_page_serves_local_assets(as_owner, demo):
    from django.contrib.staticfiles import finders

    page = as_owner.get(f"/bases/{demo.pk}/graphql/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/npm/graphiql/graphiql.min.js" in html and "https://" not in html
    for path in (
        "npm/graphiql/graphiql.min.js",
        "npm/graphiql/graphiql.min.css",
        "npm/react/umd/react.production.min.js",
        "npm/react-dom/umd/react-dom.production.min.js",
    ):
        assert finders.find(path), path


def test_pathological_nesting_is_400_not_500(as_owner, demo):
    for query in (
        "{ clients { list { " * 2000 + "}" * 6000,
        "{ clients(where: " + "[" * 5000 + ") { list { name } } }",
    ):
        response = as_owner.post(
            f"/api/v2/bases/{demo.pk}/graphql", {"query": query}, format="json"
        )
        assert response.status_code == 400, response.content[:300]
        assert codes(response.json())[0] in (
            "QUERY_TOO_DEEP",
            "GRAPHQL_PARSE_FAILED",
            "GRAPHQL_VALIDATION_FAILED",
        )


def test_hostile_titles_become_valid_unique_names(make_table, sqlite_db, user):
    table = make_table(
        sqlite_db,
        "1-odd",
        "we-ird TEXT",
        "_id TEXT",
        "__typename TEXT",
        rows=[{"we-ird": "a", "_id": "b", "__typename": "c"}],
    )
    client = APIClient()
    client.force_login(user)
    base = table.base
    answer = gql(
        client,
        base,
        "{ __schema { queryType { fields { name type { ofType { name } } } } } }",
    )
    roots = answer["data"]["__schema"]["queryType"]["fields"]
    names = {f["name"] for f in roots}
    # The table "1-odd": a leading digit gets "_", the dash becomes "_".
    root = "_1_odd"
    assert {root, root + "_get", root + "_count"} <= names
    page_type = next(f["type"]["ofType"]["name"] for f in roots if f["name"] == root)
    record = page_type[: -len("Page")]
    fields = gql(
        client, base, f'{{ __type(name: "{record}") {{ fields {{ name }} }} }}'
    )
    got = [f["name"] for f in fields["data"]["__type"]["fields"]]
    assert len(got) == len(set(got))
    # Leading underscores go (GraphQL reserves "__"): "_id" meets the key "id" and gets "_2".
    assert {"_id", "_display", "id", "we_ird", "id_2", "typename"} <= set(got)
    row = gql(client, base, f"{{ {root} {{ list {{ we_ird id_2 typename }} }} }}")
    assert row["data"][root]["list"] == [{"we_ird": "a", "id_2": "b", "typename": "c"}]


def test_many_to_many_and_belongs_to_links_on_an_external_database(
    make_table, sqlite_db, user
):
    """orders n—1 clients and orders n—m tags (a junction table): nested records as REST's
    links endpoint lists them, in a constant number of statements."""
    from bases.gql.types import graphql_name

    db, q = sqlite_db, sqlite_db.q
    make_table.create(db, "clients", "name VARCHAR(100)")
    make_table.create(
        db,
        "orders",
        "label VARCHAR(100)",
        f"client_id INTEGER REFERENCES {q('clients')}(id)",
    )
    make_table.create(db, "tags", "tag VARCHAR(50)")
    make_table.create(
        db,
        "order_tags",
        f"order_id INTEGER NOT NULL REFERENCES {q('orders')}(id)",
        f"tag_id INTEGER NOT NULL REFERENCES {q('tags')}(id)",
        "PRIMARY KEY (order_id, tag_id)",
        pk=None,
    )
    make_table.insert(db, "clients", [{"name": f"c{i}"} for i in range(1, 4)])
    make_table.insert(db, "tags", [{"tag": f"t{i}"} for i in range(1, 5)])
    make_table.insert(
        db,
        "orders",
        [{"label": f"o{i}", "client_id": i % 3 + 1} for i in range(1, 13)],
    )
    make_table.insert(
        db,
        "order_tags",
        [
            {"order_id": o, "tag_id": t}
            for o in range(1, 13)
            for t in range(1, 5)
            if (o + t) % 3
        ],
    )
    tables = make_table.connect(db, title="Shop")
    orders = tables["orders"]
    links = {
        f.options["relation"]: f
        for f in orders.fields.filter(uidt="LinkToAnotherRecord")
    }
    bt, mm = graphql_name(links["bt"].title), graphql_name(links["mm"].title)
    client = APIClient()
    client.force_login(user)
    query = f"""query($n: Int) {{ orders(limit: $n) {{ list {{
        _id label {bt} {{ name }} {mm}(limit: 10) {{ _id tag }} }} }} }}"""
    counts = []
    for n in (3, 9):
        alias = source_alias(orders.source)
        with CaptureQueriesContext(connections[alias]) as ctx:
            rows = gql(client, orders.base, query, {"n": n})["data"]["orders"]["list"]
        counts.append(len(ctx.captured_queries))
        assert len(rows) == n
    assert counts[0] == counts[1], counts
    for row in rows:
        assert row[bt]["name"] == f"c{int(row['_id']) % 3 + 1}"
        rest = client.get(
            f"/api/v2/tables/{orders.pk}/links/{links['mm'].pk}/records/{row['_id']}"
        ).json()["list"]
        assert sorted(r["tag"] for r in rest) == sorted(t["tag"] for t in row[mm])
        assert row[mm], row
    # Sorted and filtered: each order's tags in REST's order, with the same statements.
    query = f"""query($n: Int) {{ orders(limit: $n) {{ list {{
        _id {mm}(where: "(tag,neq,t2)", sort: "-tag") {{ tag }} }} }} }}"""
    sorted_counts = []
    for n in (3, 9):
        with CaptureQueriesContext(connections[alias]) as ctx:
            rows = gql(client, orders.base, query, {"n": n})["data"]["orders"]["list"]
        sorted_counts.append(len(ctx.captured_queries))
    assert sorted_counts[0] == sorted_counts[1], sorted_counts
    for row in rows:
        rest = client.get(
            f"/api/v2/tables/{orders.pk}/links/{links['mm'].pk}/records/{row['_id']}",
            {"where": "(tag,neq,t2)", "sort": "-tag"},
        ).json()["list"]
        assert [r["tag"] for r in rest] == [t["tag"] for t in row[mm]]
        assert "t2" not in [t["tag"] for t in row[mm]]
