"""The grid's surfaces (grid, toolbar, footer, group-by, view tabs) and the permission model:
hidden fields never reach them, a table override of "none" makes every endpoint 404, overrides
decide who may shape a table's views, links into a table without access show nothing of it, and
ids from another base are 404.

The clients table's `email` is hidden from everyone below creator (the highest level a rule
may hide from: owners see every field, so whoever may change a view's config sees its fields). One row holds a value found
nowhere else (SECRET), and the owner has set up a view that filters, sorts, groups and sums on
the hidden field: editors, commenters and viewers must see neither the value, nor the field's id,
nor rows selected only by it, on any grid, toolbar, footer or group-by endpoint.
"""

from __future__ import annotations

import json

import pytest

from bases import records
from permissions.checks import SYSTEM, Actor
from permissions.services import field_rule_set, table_role_set
from records.writes import insert_rows, update_rows
from tests.permissions.conftest import session_client
from views.models import View
from views.services import view_create

pytestmark = pytest.mark.django_db

SECRET = "zq-secret-leak@hidden.example"


@pytest.fixture
def hidden(world):
    w = world
    t = w.table("clients")
    email = w.field("clients", "email")
    update_rows(t, {"Id": 1, "email": SECRET}, actor=SYSTEM)
    field_rule_set(
        actor=Actor(user=w.users["owner"]), field=email, hidden_below="creator"
    )
    # The owner's view leans on the hidden field everywhere a view can.
    view = view_create(
        actor=Actor(user=w.users["owner"]),
        table=t,
        title="owner's view",
        data={"sort": f"-{email.pk}", "where": f"({email.pk},like,zq-secret)"},
    )
    view.options = {
        "group_by": [{"field": email.pk, "desc": False}],
        "aggregates": {email.pk: "filled"},
    }
    view.save()
    plain = view_create(actor=Actor(user=w.users["owner"]), table=t, title="plain view")
    plain.options = {"aggregates": {email.pk: "filled"}}
    plain.save()
    return {"w": w, "t": t, "email": email, "view": view, "plain": plain}


def _urls(w, t, view, email):
    b = w.base.pk
    grid = f"/bases/{b}/tables/{t.pk}"
    v = f"/bases/{b}/views/{view.pk}"
    return [
        f"{grid}/",
        f"{grid}/views/{view.pk}/",
        f"{grid}/grid/rows?view={view.pk}",
        f"{grid}/grid/count?view={view.pk}",
        f"{grid}/grid/rows/1/expand?view={view.pk}",
        f"{v}/filters",
        f"{v}/sorts",
        f"{v}/group",
        f"{v}/fields",
        f"{v}/footer",
        f"{v}/groups",
        f"{v}/groups/rows",
    ]


@pytest.mark.parametrize("role", ["editor", "commenter", "viewer"])
def test_hidden_field_is_on_no_grid_surface(hidden, role):
    w, t, email = hidden["w"], hidden["t"], hidden["email"]
    web = session_client(w.users[role])
    for view in (hidden["view"], hidden["plain"]):
        for url in _urls(w, t, view, email):
            r = web.get(url)
            assert r.status_code == 200, (url, r.status_code)
            body = r.content.decode()
            assert SECRET not in body and "zq-secret" not in body, url
            assert email.pk not in body, url
    # The cell and the grid's link picker for it do not exist for them.
    r = web.get(f"/bases/{w.base.pk}/tables/{t.pk}/cells/1/{email.pk}")
    assert r.status_code == 404
    # A creator sees it (the test can fail).
    owner = session_client(w.users["creator"])
    page = owner.get(f"/bases/{w.base.pk}/tables/{t.pk}/grid/rows/1/expand")
    assert SECRET in page.content.decode()


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_search_does_not_look_into_hidden_fields(hidden, role):
    w, t = hidden["w"], hidden["t"]
    web = session_client(w.users[role])
    plain = hidden["plain"]
    grid = f"/bases/{w.base.pk}/tables/{t.pk}"
    r = web.get(f"{grid}/grid/count", {"view": plain.pk, "q": "zq-secret"})
    assert r.json() == {"count": 0}
    r = web.get(f"{grid}/grid/rows", {"view": plain.pk, "q": "zq-secret"})
    assert r["X-Grid-Count"] == "0"
    r = web.get(f"{grid}/views/{plain.pk}/", {"q": "zq-secret"})
    assert 'data-n="1"' not in r.content.decode()
    r = web.get(f"/bases/{w.base.pk}/views/{plain.pk}/footer", {"q": "zq-secret"})
    assert "0 rows" in r.content.decode()
    # The owner's search finds the row (the test can fail).
    owner = session_client(w.users["owner"])
    r = owner.get(f"{grid}/grid/count", {"view": plain.pk, "q": "zq-secret"})
    assert r.json() == {"count": 1}


def test_panels_refuse_the_hidden_field(hidden):
    """An editor cannot filter, sort, group or sum on it (nor change the view at all: 403),
    nor write it through the grid; nothing changes."""
    w, t, email = hidden["w"], hidden["t"], hidden["email"]
    plain = hidden["plain"]
    web = session_client(w.users["editor"])
    v = f"/bases/{w.base.pk}/views/{plain.pk}"
    before = View.objects.filter(pk=plain.pk).values().get()
    tree = {
        "type": "group",
        "logic": "and",
        "children": [
            {"type": "condition", "field": email.pk, "op": "like", "value": "zq"}
        ],
    }
    attempts = [
        (f"{v}/filters", {"tree": json.dumps(tree), "action": ""}),
        (f"{v}/sorts", {"field": email.pk, "dir": "asc"}),
        (f"{v}/sorts", {"add": email.pk}),
        (f"{v}/group", {"field": email.pk, "dir": "asc"}),
        (f"{v}/group", {"add": email.pk}),
        (f"{v}/footer", {"summary": f"{email.pk}:filled"}),
        (f"{v}/fields", {"show": [email.pk]}),
    ]
    for url, data in attempts:
        r = web.post(url, data)
        assert r.status_code == 403, (url, r.status_code)
        assert SECRET not in r.content.decode()
        assert View.objects.filter(pk=plain.pk).values().get() == before, url
    grid = f"/bases/{w.base.pk}/tables/{t.pk}/grid"
    r = web.post(
        f"{grid}/layout", {"view": plain.pk, "field_order": [email.pk]}, format="json"
    )
    assert r.status_code == 403
    assert View.objects.filter(pk=plain.pk).values().get() == before
    # The grid's edits do not reach it: the field does not exist for them.
    r = web.post(
        f"{grid}/cells",
        {"changes": [{"id": "1", "field": email.pk, "value": "x@y.z"}]},
        format="json",
    )
    assert r.status_code == 404
    r = web.post(
        f"/bases/{w.base.pk}/tables/{t.pk}/cells/1/{email.pk}", {"value": "x@y.z"}
    )
    assert r.status_code == 404
    r = web.post(f"{grid}/rows/1/expand", {f"f_{email.pk}": "x@y.z"})
    assert r.status_code == 200 and SECRET not in r.content.decode()
    assert records.get_record(t, "1", actor=SYSTEM)["email"] == SECRET


def test_groups_within_a_hidden_field_are_refused(hidden):
    """The grouped grid's `within` (where text from a group header) cannot name it."""
    w, email = hidden["w"], hidden["email"]
    web = session_client(w.users["viewer"])
    v = f"/bases/{w.base.pk}/views/{hidden['plain'].pk}"
    r = web.get(f"{v}/groups/rows", {"within": f"({email.pk},like,zq-secret)"})
    body = r.content.decode()
    assert SECRET not in body and 'data-n="1"' not in body
    assert r.status_code == 400 or "unknown field" in body.lower()


GRID_GETS = [
    "{t}/",
    "{t}/views/{v}/",
    "{t}/grid/rows",
    "{t}/grid/count",
    "{t}/grid/rows/1/expand",
    "{t}/grid/links/1/{link}",
    "{t}/cells/1/{name}",
    "{b}/views/{v}/filters",
    "{b}/views/{v}/sorts",
    "{b}/views/{v}/group",
    "{b}/views/{v}/fields",
    "{b}/views/{v}/footer",
    "{b}/views/{v}/groups",
    "{b}/views/{v}/groups/rows",
]
GRID_POSTS = [
    ("{t}/", {"title": "x", "uidt": "SingleLineText"}, None),
    ("{t}/views/{v}/", {"title": "x", "uidt": "SingleLineText"}, None),
    ("{t}/grid/layout", {"row_height": "tall"}, "json"),
    (
        "{t}/grid/cells",
        {"changes": [{"id": "1", "field": "{name}", "value": "x"}]},
        "json",
    ),
    ("{t}/grid/delete", {"ids": ["1"]}, "json"),
    ("{t}/grid/rows/1/expand", {"f_{name}": "x"}, None),
    ("{t}/grid/links/1/{link}", {"action": "unlink", "target": "1"}, None),
    ("{t}/grid/options/{city}", {"title": "Town"}, "json"),
    ("{t}/rows", {}, None),
    ("{t}/rows/1/delete", {}, None),
    ("{t}/cells/1/{name}", {"value": "x"}, None),
    ("{t}/views/new", {"title": "new"}, None),
    ("{t}/views/reorder", {"order": ["{v}"]}, None),
    ("{b}/views/{v}/rename", {"title": "renamed"}, None),
    ("{b}/views/{v}/duplicate", {}, None),
    ("{b}/views/{v}/delete", {}, None),
    ("{b}/views/{v}/filters", {"action": "add-condition:root"}, None),
    ("{b}/views/{v}/sorts", {"field": "{name}"}, None),
    ("{b}/views/{v}/group", {"field": "{city}"}, None),
    ("{b}/views/{v}/fields", {"all": "hide"}, None),
    ("{b}/views/{v}/footer", {"summary": "{name}:filled"}, None),
]


def _fill(text, ids):
    return text.format(**ids) if isinstance(text, str) else text


def _deep(value, ids):
    if isinstance(value, dict):
        return {_fill(k, ids): _deep(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v, ids) for v in value]
    return _fill(value, ids)


@pytest.mark.parametrize("base_role", ["owner", "creator", "editor", "viewer"])
def test_table_override_none_is_404_on_every_grid_endpoint(world, base_role):
    from tests.permissions.conftest import snapshot

    w = world
    t = w.table("clients")
    user = w.users[base_role]
    owner = w.users["owner"]
    if base_role == "owner":
        # A second owner, with no access to clients (an owner may lower another's role).
        from permissions.services import membership_create
        from tests.permissions.conftest import make_user

        user = make_user("owner2@example.com")
        membership_create(base=w.base, user=user, role="owner")
    table_role_set(actor=Actor(user=owner), table=t, user_id=user.pk, role="none")
    view = View.objects.filter(table=t).first() or view_create(
        actor=Actor(user=owner), table=t, title="v"
    )
    ids = {
        "b": f"/bases/{w.base.pk}",
        "t": f"/bases/{w.base.pk}/tables/{t.pk}",
        "v": view.pk,
        "name": w.field("clients", "name").pk,
        "city": w.field("clients", "city").pk,
        "link": w.field("clients", "projects").pk,
    }
    web = session_client(user)
    for path in GRID_GETS:
        url = _fill(path, ids)
        r = web.get(url)
        assert r.status_code == 404, (url, r.status_code)
    baseline = snapshot(w.base)
    for path, body, fmt in GRID_POSTS:
        url = _fill(path, ids)
        data = _deep(body, ids)
        r = web.post(url, data, format="json") if fmt else web.post(url, data)
        assert r.status_code == 404, (url, r.status_code)
    assert snapshot(w.base) == baseline
    # The other tables still work for them.
    projects = w.table("projects")
    assert web.get(f"/bases/{w.base.pk}/tables/{projects.pk}/").status_code == 200


def test_links_into_a_table_without_access_show_nothing_of_it(world):
    """Editor on the base, no access to projects: the clients grid's link cells, expanded row
    and link picker show no project, and linking through the picker is refused."""
    w = world
    t, projects = w.table("clients"), w.table("projects")
    link = w.field("clients", "projects")
    editor = w.users["editor"]
    table_role_set(
        actor=Actor(user=w.users["owner"]),
        table=projects,
        user_id=editor.pk,
        role="none",
    )
    first = records.list_records(projects, {"limit": "1"}, actor=SYSTEM).rows[0]
    label = first["name"]
    web = session_client(editor)
    grid = f"/bases/{w.base.pk}/tables/{t.pk}"
    for url in (f"{grid}/", f"{grid}/grid/rows", f"{grid}/grid/rows/1/expand"):
        r = web.get(url)
        assert r.status_code == 200, url
        assert label not in r.content.decode(), url
        assert "Project " not in r.content.decode(), url
    r = web.get(f"{grid}/grid/links/1/{link.pk}")
    assert r.status_code == 404
    before = records.list_linked(t, link, "1", {}, actor=SYSTEM).rows
    r = web.post(
        f"{grid}/grid/links/1/{link.pk}", {"action": "link", "target": first["Id"]}
    )
    assert r.status_code == 404
    assert records.list_linked(t, link, "1", {}, actor=SYSTEM).rows == before


def test_group_headers_within_a_hidden_field_are_refused(hidden):
    """Group counts narrowed by a condition on the hidden field would be an oracle for its
    values: `within` naming it is refused like an unknown field."""
    w, t, email = hidden["w"], hidden["t"], hidden["email"]
    city = w.field("clients", "city")
    view = view_create(actor=Actor(user=w.users["owner"]), table=t, title="by city")
    view.options = {"group_by": [{"field": city.pk, "desc": False}]}
    view.save()
    web = session_client(w.users["viewer"])
    url = f"/bases/{w.base.pk}/views/{view.pk}/groups"
    ok = web.get(url, {"within": f"({city.pk},isnot,null)"})
    assert ok.status_code == 200 and 'class="group' in ok.content.decode()
    for within in (f"({email.pk},like,zq-secret)", "(email,like,zq-secret)"):
        r = web.get(url, {"within": within})
        body = r.content.decode()
        assert r.status_code == 400 or "unknown field" in body.lower(), body[:300]
        assert 'class="group' not in body


def test_ids_from_another_base_are_404_on_the_grid(world):
    """IDOR: a view, table or field of another base (even one the user owns) named through
    this base's grid URLs is 404, and nothing changes."""
    from bases import schema_services, services
    from tests.permissions.conftest import snapshot

    w = world
    creator = Actor(user=w.users["creator"])
    other = services.base_create(
        actor=creator, title="other"
    )  # theirs; owner: no member
    o_table = schema_services.table_create(
        actor=creator,
        base=other,
        title="clients",
        columns=[
            {"title": "name", "uidt": "SingleLineText"},
            {"title": "city", "uidt": "SingleSelect", "choices": ["A"]},
        ],
    )
    insert_rows(o_table, {"name": "theirs"}, actor=SYSTEM)
    o_view = view_create(actor=Actor(user=w.users["creator"]), table=o_table, title="o")
    o_name = o_table.fields.get(title="name")
    t = w.table("clients")
    b = w.base.pk
    grid = f"/bases/{b}/tables/{t.pk}"
    web = session_client(w.users["creator"])
    gets = [
        f"/bases/{b}/views/{o_view.pk}/filters",
        f"/bases/{b}/views/{o_view.pk}/footer",
        f"/bases/{b}/views/{o_view.pk}/groups",
        f"/bases/{b}/tables/{o_table.pk}/",
        f"/bases/{b}/tables/{o_table.pk}/grid/rows",
        f"{grid}/views/{o_view.pk}/",
        f"{grid}/grid/rows?view={o_view.pk}",
        f"{grid}/grid/count?view={o_view.pk}",
        f"{grid}/grid/rows/1/expand?view={o_view.pk}",
        f"{grid}/cells/1/{o_name.pk}",
    ]
    for url in gets:
        r = web.get(url)
        assert r.status_code == 404, (url, r.status_code)
    from views.services import default_view

    default_view(
        t
    )  # made on first use (any page load); not a change by the requests below
    baseline = snapshot(w.base), snapshot(other)
    posts = [
        (f"/bases/{b}/views/{o_view.pk}/rename", {"title": "taken"}, None),
        (f"/bases/{b}/views/{o_view.pk}/delete", {}, None),
        (f"/bases/{b}/views/{o_view.pk}/sorts", {"field": o_name.pk}, None),
        (f"{grid}/grid/layout", {"view": o_view.pk, "row_height": "tall"}, "json"),
        (
            f"{grid}/grid/cells",
            {"changes": [{"id": "1", "field": o_name.pk, "value": "x"}]},
            "json",
        ),
        (
            f"{grid}/grid/options/{o_table.fields.get(title='city').pk}",
            {"title": "X"},
            "json",
        ),
    ]
    for url, data, fmt in posts:
        r = web.post(url, data, format="json") if fmt else web.post(url, data)
        assert r.status_code in (400, 404), (url, r.status_code)
        assert (snapshot(w.base), snapshot(other)) == baseline, url
    # Reordering with another table's view id: the tabs say so (their form's error).
    r = web.post(f"{grid}/views/reorder", {"order": [o_view.pk]})
    assert f"No view &#x27;{o_view.pk}&#x27; in this table" in r.content.decode()
    assert (snapshot(w.base), snapshot(other)) == baseline


def test_view_config_follows_the_table_override(world):
    """The grid's checks are on the table: an editor raised to creator on clients may shape
    its views (and not those of projects); a creator lowered to editor on clients may not."""
    w = world
    t, projects = w.table("clients"), w.table("projects")
    owner = Actor(user=w.users["owner"])
    raised, lowered = w.users["editor"], w.users["creator"]
    table_role_set(actor=owner, table=t, user_id=raised.pk, role="creator")
    table_role_set(actor=owner, table=t, user_id=lowered.pk, role="editor")
    name = w.field("clients", "name")
    view = view_create(actor=owner, table=t, title="shaped")
    p_view = view_create(actor=owner, table=projects, title="p")
    b = w.base.pk

    up = session_client(raised)
    page = up.get(f"/bases/{b}/tables/{t.pk}/views/{view.pk}/").content.decode()
    assert "+ View" in page and '"canLayout": true' in page
    r = up.post(f"/bases/{b}/views/{view.pk}/sorts", {"field": name.pk, "dir": "desc"})
    assert r.status_code == 200
    view.refresh_from_db()
    assert view.sort == f"-{name.pk}"
    r = up.post(f"/bases/{b}/tables/{t.pk}/views/new", {"title": "mine"})
    assert r.status_code == 200 and t.views.filter(title="mine").exists()
    r = up.post(f"/bases/{b}/views/{p_view.pk}/rename", {"title": "nope"})
    assert r.status_code == 403
    row = insert_rows(t, {"name": "to go"}, actor=SYSTEM)[0][0]
    r = up.post(f"/bases/{b}/tables/{t.pk}/grid/delete", {"ids": [row]}, format="json")
    assert r.status_code == 200  # records.delete comes with creator on this table

    down = session_client(lowered)
    page = down.get(f"/bases/{b}/tables/{t.pk}/views/{view.pk}/").content.decode()
    assert "+ View" not in page and '"canLayout": false' in page
    assert '"canAdd": false' in page
    before = View.objects.filter(pk=view.pk).values().get()
    for url, data in (
        (f"/bases/{b}/views/{view.pk}/sorts", {"field": name.pk}),
        (f"/bases/{b}/views/{view.pk}/footer", {"summary": f"{name.pk}:filled"}),
        (f"/bases/{b}/views/{view.pk}/rename", {"title": "x"}),
        (f"/bases/{b}/views/{view.pk}/duplicate", {}),
        (f"/bases/{b}/tables/{t.pk}/views/new", {"title": "x"}),
        (f"/bases/{b}/tables/{t.pk}/views/reorder", {"order": [view.pk]}),
    ):
        assert down.post(url, data).status_code == 403, url
    assert View.objects.filter(pk=view.pk).values().get() == before
    footer = down.get(f"/bases/{b}/views/{view.pk}/footer").content.decode()
    assert "+ Summary" not in footer
    # Still creator on projects.
    r = down.post(f"/bases/{b}/views/{p_view.pk}/rename", {"title": "renamed p"})
    assert r.status_code == 200
