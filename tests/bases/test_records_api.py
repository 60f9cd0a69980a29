"""The v2 records API on PostgreSQL, MariaDB and SQLite: CRUD, bulk, paging, cursor, links."""

import pytest

from permissions.checks import Actor
from permissions.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(external_db, make_table):
    """clients 1—n orders, orders n—m tags (junction), on a real database."""
    db, q = external_db, external_db.q
    boolean = "BOOLEAN" if external_db.kind != "mysql" else "TINYINT(1)"
    make_table.create(db, "clients", "name VARCHAR(100) NOT NULL", "city VARCHAR(50)")
    make_table.create(
        db,
        "orders",
        "label VARCHAR(100)",
        "amount DECIMAL(10,2)",
        f"paid {boolean}",
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
    return make_table.connect(db, title="Shop")


def url(table, suffix=""):
    return f"/api/v2/tables/{table.pk}/records{suffix}"


def test_create_read_update_delete_one(api, shop):
    clients = shop["clients"]
    created = api.post(url(clients), {"name": "Zoë", "city": "Kraków"}, format="json")
    assert created.status_code == 200, created.content
    rid = created.json()["id"]
    got = api.get(url(clients, f"/{rid}")).json()
    assert got == {"id": rid, "name": "Zoë", "city": "Kraków", "orders": 0}
    assert api.patch(
        url(clients), {"id": rid, "city": "Łódź"}, format="json"
    ).json() == {"id": rid}
    assert api.get(url(clients, f"/{rid}"), {"fields": "city"}).json() == {
        "city": "Łódź"
    }
    assert api.delete(url(clients), {"id": rid}, format="json").json() == {"id": rid}
    missing = api.get(url(clients, f"/{rid}"))
    assert missing.status_code == 404 and missing.json()["error"] == "RECORD_NOT_FOUND"


def test_bulk_is_all_or_nothing_and_names_the_failing_row(api, shop):
    clients = shop["clients"]
    bad = api.post(
        url(clients), [{"name": "a"}, {"name": "b"}, {"name": None}], format="json"
    )
    assert bad.status_code == 400
    assert bad.json()["message"].startswith("row 2:")
    assert api.get(url(clients, "/count")).json() == {"count": 0}
    ok = api.post(url(clients), [{"name": f"c{i}"} for i in range(300)], format="json")
    assert ok.status_code == 200 and len(ok.json()) == 300
    ids = [r["id"] for r in ok.json()]
    assert len(set(ids)) == 300
    assert api.get(url(clients, "/count")).json() == {"count": 300}
    # A database-level refusal (unknown foreign key) in the middle of a bulk insert rolls back all.
    orders = shop["orders"]
    refused = api.post(
        url(orders),
        [{"label": "x", "client_id": ids[0]}, {"label": "y", "client_id": 999999}],
        format="json",
    )
    if (
        refused.status_code != 200
    ):  # SQLite without enforced FKs accepts it; the others refuse
        assert refused.status_code == 422 and refused.json()["message"].startswith(
            "row 1:"
        )
        assert api.get(url(orders, "/count")).json() == {"count": 0}
    updated = api.patch(
        url(clients),
        [{"id": ids[0], "city": "X"}, {"id": 10**8, "city": "Y"}],
        format="json",
    )
    assert updated.status_code == 404 and updated.json()["message"].startswith("row 1:")
    assert api.get(url(clients, f"/{ids[0]}")).json()["city"] is None
    too_many = api.post(url(clients), [{"name": "n"}] * 1001, format="json")
    assert (
        too_many.status_code == 400 and too_many.json()["error"] == "TOO_MANY_RECORDS"
    )
    deleted = api.delete(url(clients), [{"id": i} for i in ids[:10]], format="json")
    assert deleted.status_code == 200
    assert api.get(url(clients, "/count")).json() == {"count": 290}


@pytest.mark.parametrize(
    "body,code",
    [
        ({"nope": 1}, "FIELD_NOT_FOUND"),
        ({"name": {"x": 1}}, "INVALID_VALUE"),
        ("text", "INVALID_BODY"),
        ([], "INVALID_BODY"),
    ],
)
def test_bad_bodies_are_400(api, shop, body, code):
    response = api.post(url(shop["clients"]), body, format="json")
    assert response.status_code == 400 and response.json()["error"] == code


def test_typed_values_are_checked(api, shop):
    orders = shop["orders"]
    response = api.post(url(orders), {"label": "x", "amount": "ten"}, format="json")
    assert response.status_code == 400 and "amount" in response.json()["message"]
    response = api.post(
        url(orders), {"label": "x", "amount": "10.50", "paid": True}, format="json"
    )
    assert response.status_code == 200
    got = api.get(url(orders, f"/{response.json()['id']}")).json()
    assert float(got["amount"]) == 10.5 and got["paid"] is True


def test_list_fields_sort_limit_offset_and_page_info(api, shop, external_db):
    clients = shop["clients"]
    api.post(
        url(clients),
        [
            {"name": n, "city": c}
            for n, c in [("b", "X"), ("a", None), ("c", "Y"), ("d", "X")]
        ],
        format="json",
    )
    # NULLs sort as the smallest value on every database (NocoDB's order), so the same view
    # sorts the same everywhere. docs/api.md says so.
    order = ["a", "d", "b", "c"]
    page = api.get(
        url(clients), {"fields": "name,city", "sort": "city,-name", "limit": 2}
    ).json()
    assert [r["name"] for r in page["list"]] == order[:2]
    assert set(page["list"][0]) == {"name", "city"}
    assert page["pageInfo"] == {
        "totalRows": 4,
        "page": 1,
        "pageSize": 2,
        "isFirstPage": True,
        "isLastPage": False,
        "next": page["pageInfo"]["next"],
    }
    second = api.get(
        url(clients), {"f": "name", "s": "city,-name", "l": 2, "o": 2}
    ).json()
    assert [r["name"] for r in second["list"]] == order[2:]
    assert second["pageInfo"]["isLastPage"] is True and second["pageInfo"]["page"] == 2


@pytest.mark.parametrize(
    "params,code",
    [
        ({"limit": "-1"}, "INVALID_PARAMETER"),
        ({"limit": "1001"}, "INVALID_PARAMETER"),
        ({"limit": "abc"}, "INVALID_PARAMETER"),
        ({"offset": "-5"}, "INVALID_PARAMETER"),
        ({"fields": "name,ghost"}, "FIELD_NOT_FOUND"),
        ({"sort": "-ghost"}, "FIELD_NOT_FOUND"),
        ({"sort": "name; DROP TABLE clients"}, "FIELD_NOT_FOUND"),
        ({"fields": 'name" FROM clients; --'}, "FIELD_NOT_FOUND"),
        ({"cursor": "garbage"}, "INVALID_CURSOR"),
        ({"viewId": "vw_nope"}, "VIEW_NOT_FOUND"),
    ],
)
def test_bad_parameters_are_4xx_naming_the_problem(api, shop, params, code):
    response = api.get(url(shop["clients"]), params)
    assert 400 <= response.status_code < 500
    assert response.json()["error"] == code
    assert api.get(url(shop["clients"], "/count")).status_code == 200  # table intact


def test_cursor_pages_are_stable_across_inserts_and_deletes(api, shop, external_db):
    clients = shop["clients"]
    ids = [
        r["id"]
        for r in api.post(
            url(clients),
            [{"name": f"n{i:03d}", "city": ["A", "B", None][i % 3]} for i in range(50)],
            format="json",
        ).json()
    ]
    seen, cursor = [], None
    params = {"sort": "-city,name", "fields": "name", "limit": 7}
    first = True
    while True:
        page = api.get(
            url(clients), {**params, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [r["name"] for r in page["list"]]
        if first:
            # Writes between pages: a row before the cursor and one far after it.
            api.post(
                url(clients),
                [{"name": "n000a", "city": "B"}, {"name": "zzz", "city": None}],
                format="json",
            )
            api.delete(
                url(clients), {"id": ids[-1]}, format="json"
            )  # n049, city B, not yet seen
            first = False
        cursor = page["pageInfo"].get("next")
        if not cursor:
            assert page["pageInfo"]["isLastPage"] is True
            break
    assert len(seen) == len(set(seen))  # nothing twice
    assert "n049" not in seen  # deleted before its page came
    everything = [
        r["name"]
        for r in api.get(url(clients), {**params, "limit": 1000}).json()["list"]
    ]
    # Cursor paging saw exactly the final order, less rows inserted before the first page's end.
    boundary = everything.index(seen[6])
    expected = [
        n
        for i, n in enumerate(everything)
        if not (n in {"n000a", "zzz"} and i < boundary)
    ]
    assert seen == expected
    nulls = [f"n{i:03d}" for i in range(50) if i % 3 == 2] + ["zzz"]
    # NULL cities are the smallest: last descending, on every database.
    assert sorted(everything[-len(nulls) :]) == sorted(nulls)


def test_cursor_belongs_to_its_sort(api, shop):
    clients = shop["clients"]
    api.post(url(clients), [{"name": f"n{i}"} for i in range(5)], format="json")
    nxt = api.get(url(clients), {"sort": "name", "limit": 2}).json()["pageInfo"]["next"]
    response = api.get(url(clients), {"sort": "-name", "limit": 2, "cursor": nxt})
    assert response.status_code == 400 and response.json()["error"] == "INVALID_CURSOR"


def test_links_list_link_unlink_and_counts(api, shop):
    clients, orders, tags = shop["clients"], shop["orders"], shop["tags"]
    c1 = api.post(url(clients), {"name": "Ann"}, format="json").json()["id"]
    o_ids = [
        r["id"]
        for r in api.post(
            url(orders), [{"label": f"o{i}"} for i in range(3)], format="json"
        ).json()
    ]
    t_ids = [
        r["id"]
        for r in api.post(
            url(tags), [{"tag": "red"}, {"tag": "blue"}], format="json"
        ).json()
    ]
    links = {
        f.options["relation"] + ":" + f.related_table.table_name: f
        for f in clients.fields.filter(uidt="LinkToAnotherRecord")
    }
    hm = links["hm:orders"]
    link_url = f"/api/v2/tables/{clients.pk}/links/{hm.pk}/records/{c1}"
    assert (
        api.post(link_url, [{"id": o_ids[0]}, {"id": o_ids[2]}], format="json").json()
        is True
    )
    listed = api.get(link_url, {"fields": "label"}).json()
    assert [r["label"] for r in listed["list"]] == ["o0", "o2"]
    page = api.get(url(clients), {"fields": "name,orders"}).json()["list"]
    assert page == [{"name": "Ann", "orders": 2}]
    bt = next(
        f
        for f in orders.fields.filter(uidt="LinkToAnotherRecord")
        if f.options["relation"] == "bt"
    )
    got = api.get(url(orders, f"/{o_ids[0]}"), {"fields": f"label,{bt.title}"}).json()
    assert got == {"label": "o0", bt.title: {"id": c1, "name": "Ann"}}
    assert api.delete(link_url, [{"id": o_ids[0]}], format="json").status_code == 200
    assert [r["label"] for r in api.get(link_url).json()["list"]] == ["o2"]
    mm = next(
        f
        for f in orders.fields.filter(uidt="LinkToAnotherRecord")
        if f.options["relation"] == "mm"
    )
    mm_url = f"/api/v2/tables/{orders.pk}/links/{mm.pk}/records/{o_ids[1]}"
    assert (
        api.post(
            mm_url, [{"id": t_ids[0]}, {"id": t_ids[1]}], format="json"
        ).status_code
        == 200
    )
    assert sorted(r["tag"] for r in api.get(mm_url).json()["list"]) == ["blue", "red"]
    counts = {
        r["label"]: r[mm.title]
        for r in api.get(url(orders), {"fields": f"label,{mm.title}"}).json()["list"]
    }
    assert counts == {"o0": 0, "o1": 2, "o2": 0}
    missing = api.post(mm_url, [{"id": 424242}], format="json")
    assert missing.status_code == 404 and missing.json()["error"] == "RECORD_NOT_FOUND"


def test_tables_of_other_bases_are_404(api, shop, other_user):
    from rest_framework.test import APIClient

    from permissions.services import api_token_create

    _, raw = api_token_create(user=other_user, name="bob")
    bob = APIClient()
    bob.credentials(HTTP_XC_TOKEN=raw)
    clients = shop["clients"]
    for method in ("get", "post", "patch", "delete"):
        response = getattr(bob, method)(
            url(clients), {"id": 1} if method != "get" else None, format="json"
        )
        assert (
            response.status_code == 404
            and response.json()["error"] == "TABLE_NOT_FOUND"
        ), method
    assert bob.get(url(clients, "/1")).status_code == 404
    assert bob.get(url(clients, "/count")).status_code == 404


def test_read_only_sources_and_tables_refuse_writes(api, shop):
    from bases.services import source_update

    clients = shop["clients"]
    owner = Actor(user=clients.base.created_by)
    source_update(actor=owner, source=clients.source, allow_data_edit=False)
    response = api.post(url(clients), {"name": "x"}, format="json")
    assert (
        response.status_code == 403 and response.json()["error"] == "DATA_EDIT_DISABLED"
    )
    assert api.get(url(clients, "/count")).json() == {"count": 0}
    source_update(actor=owner, source=clients.source, allow_data_edit=True)
    assert api.post(url(clients), {"name": "x"}, format="json").status_code == 200
    junction = shop["order_tags"]
    assert junction.is_junction


def test_id_alias_names_the_primary_key_whatever_its_title(api, shop):
    clients = shop["clients"]  # its key's title is "id"
    rid = api.post(url(clients), {"name": "Ann"}, format="json").json()["id"]
    assert (
        api.patch(url(clients), {"Id": rid, "city": "Porto"}, format="json").status_code
        == 200
    )
    assert api.get(url(clients, f"/{rid}"), {"fields": "city"}).json() == {
        "city": "Porto"
    }
    assert api.delete(url(clients), [{"Id": rid}], format="json").status_code == 200
    assert api.get(url(clients, "/count")).json() == {"count": 0}


def test_deferred_foreign_key_failing_at_commit_is_422_not_500(api, user):
    """Tables the platform creates on SQLite check foreign keys at COMMIT (found by schemathesis)."""
    from bases.demo import create_demo_base

    base = create_demo_base(user)
    tasks = base.tables.get(title="tasks")
    before = api.get(url(tasks, "/count")).json()["count"]
    response = api.post(
        url(tasks), {"title": "orphan", "projects_id": 999999}, format="json"
    )
    assert response.status_code == 422, response.content
    assert response.json()["error"] == "CONSTRAINT_VIOLATION"
    assert api.get(url(tasks, "/count")).json()["count"] == before


@pytest.mark.parametrize(
    "value", ["-Infinity", "NaN", "1e400", "99999999999999999999999"]
)
def test_non_finite_or_huge_numbers_are_400_not_500(api, shop, value):
    """Found by schemathesis: `-Infinity` as a record id overflowed int()."""
    clients, orders = shop["clients"], shop["orders"]
    assert api.get(url(clients, f"/{value}")).status_code == 404
    response = api.post(url(orders), {"label": "x", "client_id": value}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "INVALID_VALUE"
    link = next(f for f in clients.fields.filter(uidt="LinkToAnotherRecord"))
    response = api.post(
        f"/api/v2/tables/{clients.pk}/links/{link.pk}/records/{value}",
        [{"id": 1}],
        format="json",
    )
    assert response.status_code == 404


def test_link_cells_cost_one_query_per_link_field_whatever_the_page_size(api, shop):
    """Never one query per row: 5 rows and 60 rows issue the same number of statements."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from bases.sources import source_alias

    clients, orders = shop["clients"], shop["orders"]
    ids = [
        r["id"]
        for r in api.post(
            url(clients), [{"name": f"c{i}"} for i in range(60)], format="json"
        ).json()
    ]
    api.post(
        url(orders),
        [{"label": f"o{i}", "client_id": ids[i % 60]} for i in range(120)],
        format="json",
    )
    counts = []
    api.get(
        url(clients), {"fields": "name,orders", "limit": 5}
    )  # warm the row-estimate cache
    for limit in (5, 50):  # both pages have more after them, so both ask for totalRows
        alias = source_alias(clients.source)
        with CaptureQueriesContext(connections[alias]) as ctx:
            rows = api.get(
                url(clients), {"fields": "name,orders", "limit": limit}
            ).json()["list"]
        assert len(rows) == limit and all(r["orders"] == 2 for r in rows)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    bt = next(
        f
        for f in orders.fields.filter(uidt="LinkToAnotherRecord")
        if f.options["relation"] == "bt"
    )
    api.get(url(orders), {"fields": f"label,{bt.title}", "limit": 5})
    for limit in (5, 100):
        with CaptureQueriesContext(connections[source_alias(orders.source)]) as ctx:
            rows = api.get(
                url(orders), {"fields": f"label,{bt.title}", "limit": limit}
            ).json()["list"]
        assert all(r[bt.title]["name"].startswith("c") for r in rows)
        counts.append(len(ctx.captured_queries))
    assert counts[2] == counts[3], counts


def test_belongs_to_cells_are_read_by_the_records_own_select(api, shop):
    """A record and a page with a belongs-to link cost one statement, not one more per link:
    the linked key and primary value come from subqueries of the same SELECT."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from bases.sources import source_alias

    clients, orders = shop["clients"], shop["orders"]
    client = api.post(url(clients), {"name": "Ada (ü)"}, format="json").json()
    linked = api.post(
        url(orders), {"label": "o1", "client_id": client["id"]}, format="json"
    ).json()
    unlinked = api.post(url(orders), {"label": "o2"}, format="json").json()
    bt = next(
        f
        for f in orders.fields.filter(uidt="LinkToAnotherRecord")
        if f.options["relation"] == "bt"
    )
    conn = connections[source_alias(orders.source)]
    counts = []
    for fields in ("label", f"label,{bt.title}"):
        api.get(
            f"{url(orders)}/{linked['id']}", {"fields": fields}
        )  # connection set-up
        with CaptureQueriesContext(conn) as ctx:
            row = api.get(f"{url(orders)}/{linked['id']}", {"fields": fields}).json()
        counts.append(len(ctx.captured_queries))
    assert row[bt.title] == {"id": client["id"], "name": "Ada (ü)"}
    assert counts[0] == counts[1], counts  # the link costs no statement of its own
    assert api.get(f"{url(orders)}/{unlinked['id']}").json()[bt.title] is None
    # Sorting by the table's own `id` stays unambiguous next to the linked record's `id`.
    rows = api.get(
        url(orders), {"fields": f"label,{bt.title}", "sort": "-id", "limit": 2}
    ).json()["list"]
    assert [r["label"] for r in rows] == ["o2", "o1"]
    assert [r[bt.title] for r in rows] == [
        None,
        {"id": client["id"], "name": "Ada (ü)"},
    ]


INJECTIONS = [
    "1; DROP TABLE clients; --",
    "' OR '1'='1",
    '" OR ""="',
    "name) OR (1=1",
    "`id`",
    "\x00",
    "%' --",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_attempts_through_every_parameter_are_inert(
    api, shop, external_db, payload
):
    clients = shop["clients"]
    api.post(url(clients), [{"name": "Ann"}, {"name": "Bob"}], format="json")
    attempts = [
        api.get(url(clients), {"where": f"(name,eq,{payload})"}),
        api.get(url(clients), {"where": f"({payload},eq,x)"}),
        api.get(url(clients), {"where": f"(name,{payload},x)"}),
        api.get(url(clients), {"sort": payload}),
        api.get(url(clients), {"fields": payload}),
        api.get(url(clients), {"limit": payload}),
        api.get(url(clients), {"offset": payload}),
        api.get(url(clients), {"cursor": payload}),
        api.get(url(clients), {"viewId": payload}),
        api.get(url(clients, "/count"), {"where": f"(name,like,{payload})"}),
        api.post(url(clients), {payload: "x"}, format="json"),
        api.patch(url(clients), {"id": payload, "name": "x"}, format="json"),
        api.delete(url(clients), {"id": payload}, format="json"),
    ]
    for response in attempts:
        assert response.status_code < 500, response.content
        if response.status_code == 200:
            body = response.json()
            # A value is only ever a value: nothing matches the payload text.
            assert body.get("list", []) == [] or all(
                r.get("name") in ("Ann", "Bob") for r in body["list"]
            )
    names = sorted(r["name"] for r in api.get(url(clients)).json()["list"])
    assert names == ["Ann", "Bob"]
    assert len(external_db.query(f"SELECT id FROM {external_db.q('clients')}")) == 2


def test_a_token_request_reads_the_meta_db_once(api, shop, django_assert_num_queries):
    """Token, user, the table's metadata version and the caller's role: one round trip."""
    clients = shop["clients"]
    api.get(url(clients))  # warm the per-process metadata cache
    with django_assert_num_queries(1):
        assert api.get(url(clients), {"limit": 1}).status_code == 200
    with django_assert_num_queries(1):
        assert api.get(url(clients, "/1")).status_code in (200, 404)


def test_the_prefetched_role_is_the_callers(api, shop, other_user):
    """The role read with the token is the token user's in the table's base, nothing broader."""
    from rest_framework.test import APIClient

    _, raw = api_token_create(user=other_user, name="outsider")
    outsider = APIClient()
    outsider.credentials(HTTP_XC_TOKEN=raw)
    response = outsider.get(url(shop["clients"]))
    assert response.status_code == 404 and response.json()["error"] == "TABLE_NOT_FOUND"
    assert outsider.get("/api/v2/tables/nope/records").status_code == 404


def test_bulk_insert_keeps_every_value_and_the_row_order(api, external_db, make_table):
    """Bulk inserts (COPY on PostgreSQL) return each row's key in request order and store
    text with tabs, newlines, backslashes, quotes and unicode, JSON, decimals, dates, NULLs
    exactly."""
    json_type = {"pg": "JSONB", "mysql": "JSON", "sqlite": "JSON"}[external_db.kind]
    ts = {"pg": "TIMESTAMPTZ", "mysql": "DATETIME", "sqlite": "DATETIME"}[
        external_db.kind
    ]
    items = make_table(
        external_db,
        "items",
        "label VARCHAR(200)",
        "note TEXT",
        "price DECIMAL(10,2)",
        "due DATE",
        f"at {ts}",
        f"meta {json_type}",
        title="Items",
    )
    tricky = [
        "tab\there",
        "line\nbreak",
        "back\\slash \\N",
        "quote ' \" ,",
        "ünï 😀",
        "",
    ]
    rows = [
        {
            "label": f"row {i}",
            "note": tricky[i % len(tricky)] if i % 7 else None,
            "price": f"{i}.25",
            "due": "2025-03-0" + str(1 + i % 9),
            "at": "2025-03-01T10:00:00Z",
            "meta": {"i": i, "tags": ["a", "b\tc"]} if i % 5 else None,
        }
        for i in range(250)
    ]
    response = api.post(url(items), rows, format="json")
    assert response.status_code == 200, response.json()
    ids = [r["id"] for r in response.json()]
    assert len(set(ids)) == 250
    for i in (0, 1, 2, 3, 4, 5, 6, 7, 137, 249):
        got = api.get(url(items, f"/{ids[i]}")).json()
        want = rows[i]
        assert got["label"] == want["label"]
        assert got["note"] == want["note"]
        assert str(got["price"]) in (f"{i}.25", f"{i}.2500")
        assert got["due"] == want["due"]
        assert got["at"].startswith("2025-03-01T10:00:00")
        assert got["meta"] == want["meta"]


@pytest.mark.parametrize("with_json", [False, True], ids=["arrays", "copy"])
def test_postgresql_bulk_inserts_store_what_one_row_inserts_store(
    api, pg_db, make_table, with_json
):
    """PostgreSQL bulk inserts send each column as one typed array (unnest), or COPY them when
    a column is JSON: either way each row is stored as a one-row insert stores it — offsets of
    date-times converted to UTC for a `timestamp` column (COPY's text dropped them), enums,
    UUIDs, times, NULLs — in request order; a refused row is named and nothing is kept."""
    pg_db.execute("CREATE TYPE mood AS ENUM ('calm', 'busy')")
    kinds = make_table(
        pg_db,
        "kinds",
        "label VARCHAR(50) NOT NULL",
        "n INTEGER CHECK (n < 1000)",
        "price NUMERIC(10,2)",
        "ratio DOUBLE PRECISION",
        "due DATE",
        "at TIMESTAMP",
        "atz TIMESTAMPTZ",
        "t TIME",
        "ok BOOLEAN",
        "u UUID",
        "mood mood",
        "code VARCHAR(5)",
        "c CHAR(3)",
        *(["meta JSONB"] if with_json else []),
        title="Kinds",
    )
    rows = [
        {
            "label": f"row {i} ✓",
            "n": i if i % 4 else None,
            "price": f"{i}.05",
            "ratio": i / 3,
            "due": f"2025-03-{1 + i % 28:02d}",
            "at": f"2025-03-01T10:{i % 60:02d}:00+02:00",
            "atz": "2025-03-01T10:00:00-05:30" if i % 3 else None,
            "t": f"08:{i % 60:02d}:30",
            "ok": bool(i % 2),
            "u": f"00000000-0000-4000-8000-{i:012d}",
            "mood": ("calm", "busy")[i % 2],
            "code": f"c{i}",
            "c": "ab",
            **({"meta": {"i": i}} if with_json else {}),
        }
        for i in range(40)
    ]
    bulk = api.post(url(kinds), rows, format="json")
    assert bulk.status_code == 200, bulk.json()
    one_by_one = [api.post(url(kinds), row, format="json") for row in rows]
    assert all(r.status_code == 200 for r in one_by_one)
    bulk_ids = [r["id"] for r in bulk.json()]
    single_ids = [r.json()["id"] for r in one_by_one]
    assert bulk_ids == sorted(bulk_ids) and len(set(bulk_ids)) == 40
    for i in range(40):
        got = api.get(url(kinds, f"/{bulk_ids[i]}")).json()
        want = api.get(url(kinds, f"/{single_ids[i]}")).json()
        assert got.pop("id") != want.pop("id")
        assert got == want
        assert got["label"] == f"row {i} ✓"
    assert (
        api.get(url(kinds, f"/{bulk_ids[5]}"))
        .json()["at"]
        .startswith("2025-03-01T08:05:00")
    )
    refused = [dict(row) for row in rows[:30]]
    refused[17]["label"] = None  # NOT NULL: refused by the parser before the database
    refused[23]["n"] = 5000  # breaks the CHECK: refused by the database
    answer = api.post(url(kinds), refused, format="json")
    assert answer.status_code == 400 and answer.json()["message"].startswith("row 17:")
    del refused[17]
    answer = api.post(url(kinds), refused, format="json")
    assert answer.status_code == 422, answer.json()
    assert answer.json()["message"].startswith("row 22:")
    # Too long for VARCHAR(5) / CHAR(3): refused as a one-row insert refuses it (400 naming
    # the row and field, before the database: bases/value_limits.py), never cut short.
    for column, value in (("code", "ABCDEFGHIJ"), ("c", "XYZW")):
        too_long = [dict(row) for row in rows[:3]]
        too_long[1][column] = value
        answer = api.post(url(kinds), too_long, format="json")
        assert answer.status_code == 400, answer.json()
        assert answer.json()["message"].startswith(f"row 1: field '{column}'")
        assert "too long" in answer.json()["message"]
    assert api.get(url(kinds, "/count")).json() == {"count": 80}


@pytest.mark.parametrize("method", ["post", "patch", "delete"])
def test_empty_object_body_is_a_clear_answer_not_a_500(api, shop, method):
    """Found by schemathesis: a body of `{}` read the raw body after the parser had consumed
    the stream."""
    clients = shop["clients"]
    response = getattr(api, method)(url(clients), {}, format="json")
    assert response.status_code in (200, 400, 404, 422), response.content
    empty = getattr(api, method)(url(clients), content_type="application/json")
    assert empty.status_code == 400 and empty.json()["error"] == "INVALID_BODY"


def test_the_api_answers_json_whatever_accept_says_and_names_a_wrong_body_type(
    api, shop
):
    clients = shop["clients"]
    got = api.get(url(clients), HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert got.status_code == 200 and got["Content-Type"] == "application/json"
    assert got.json()["list"] == []
    wrong = api.post(url(clients), "name=x", content_type="text/plain")
    assert wrong.status_code == 415
    assert wrong.json()["error"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "text/plain" in wrong.json()["message"]
    ok = api.post(
        url(clients), b'{"name": "Ana"}', content_type="application/json; charset=utf-8"
    )
    assert ok.status_code == 200, ok.content


def test_offset_pages_keep_their_order_and_linked_records(api, shop):
    """With a belongs-to link the page is read as a derived table (the linked records looked up
    for the page's rows only, not for every row an OFFSET skips): same rows, same order."""
    clients, orders = shop["clients"], shop["orders"]
    ids = [
        r["id"]
        for r in api.post(
            url(clients), [{"name": f"c{i}"} for i in range(3)], format="json"
        ).json()
    ]
    api.post(
        url(orders),
        [{"label": f"o{i:02}", "client_id": ids[i % 3]} for i in range(12)],
        format="json",
    )
    bt = next(
        f
        for f in orders.fields.filter(uidt="LinkToAnotherRecord")
        if f.options["relation"] == "bt"
    )
    got = api.get(
        url(orders),
        {"fields": f"label,{bt.title}", "sort": "-label", "limit": 4, "offset": 5},
    ).json()
    assert [r["label"] for r in got["list"]] == ["o06", "o05", "o04", "o03"]
    assert [r[bt.title]["name"] for r in got["list"]] == ["c0", "c2", "c1", "c0"]
    assert got["pageInfo"]["page"] == 2 and not got["pageInfo"]["isLastPage"]
