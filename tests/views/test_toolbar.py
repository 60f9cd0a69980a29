"""The table page's toolbar over HTTP: filters, sorts, group-by, hidden fields, footer, tabs."""

import json

import pytest

from bases import records
from bases.demo import create_demo_base
from permissions.checks import SYSTEM
from permissions.services import membership_create
from views import services
from views.models import View

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def projects(user):
    return create_demo_base(user).tables.get(title="projects")


@pytest.fixture
def view(projects):
    return services.default_view(projects)


def url(view, what):
    return f"/bases/{view.table.base_id}/views/{view.pk}/{what}"


def field(table, title):
    return table.fields.get(title=title)


def tree(*children, logic="and", negated=False):
    return {"type": "group", "logic": logic, "not": negated, "children": list(children)}


def cond(f, op, value=None):
    return {"type": "condition", "field": f.pk, "op": op, "value": value}


def test_table_page_has_tabs_toolbar_and_lazy_footer(web, projects, view):
    page = web.get(f"/bases/{projects.base_id}/tables/{projects.pk}/").content.decode()
    assert 'id="view-tabs"' in page and view.title in page
    assert 'id="toolbar"' in page and "temporary · not saved" in page
    # The footer loads after the page and again on every grid reload, on this page's own
    # row changes (grid:counts, static/js/grid) and on live changes.
    assert 'id="grid-footer"' in page
    assert (
        'hx-trigger="load, grid:reload from:body, grid:counts from:body delay:300ms, '
        "realtime:rows from:body" in page
    )


def test_nested_filter_is_saved_as_where_text_and_reloads_the_grid(web, projects, view):
    status, budget, name = (field(projects, t) for t in ("status", "budget", "name"))
    posted = tree(
        cond(status, "eq", "active"),
        tree(cond(budget, "gt", "50000"), cond(name, "like", "a"), logic="or"),
    )
    response = web.post(url(view, "filters"), {"tree": json.dumps(posted)}, **HX)
    assert response.status_code == 200
    assert "grid:reload" in response.headers["HX-Trigger"]
    view.refresh_from_db()
    assert view.where == (
        f"({status.pk},eq,active)~and(({budget.pk},gt,50000)~or({name.pk},like,a))"
    )
    # The API's viewId and the grid read the same rows.
    rows = records.list_records(
        projects, {"limit": "200"}, view=view, actor=SYSTEM
    ).rows
    assert rows and all(
        r["status"] == "active" and (r["budget"] > 50000 or "a" in r["name"].lower())
        for r in rows
    )
    # The builder shows it back, one badge for two conditions... three.
    panel = web.get(url(view, "filters")).content.decode()
    assert '<span class="count"' in panel and ">3</span>" in panel


def test_bad_operator_for_type_is_refused_with_the_typed_value_kept(
    web, projects, view
):
    budget = field(projects, "budget")
    posted = tree(cond(budget, "like", "12abc"))
    response = web.post(url(view, "filters"), {"tree": json.dumps(posted)}, **HX)
    body = response.content.decode()
    assert response.status_code == 200 and "HX-Trigger" not in response.headers
    assert "not supported" in body and 'value="12abc"' in body
    view.refresh_from_db()
    assert view.where == ""


def test_bad_value_is_shown_next_to_its_condition(web, projects, view):
    budget = field(projects, "budget")
    posted = tree(cond(budget, "gt", "lots"))
    body = web.post(url(view, "filters"), {"tree": json.dumps(posted)}, **HX).content
    assert b"is not a number" in body and b'value="lots"' in body
    view.refresh_from_db()
    assert view.where == ""


def test_builder_actions_add_and_remove(web, projects, view):
    r = web.post(
        url(view, "filters"),
        {"tree": json.dumps(tree()), "action": "add-group:root"},
        **HX,
    )
    body = r.content.decode()
    assert body.count("data-fb-group") == 2 and body.count("data-fb-cond") == 1
    name = field(projects, "name")
    posted = tree(cond(name, "like", "x"), cond(name, "blank"))
    r = web.post(
        url(view, "filters"), {"tree": json.dumps(posted), "action": "remove:0"}, **HX
    )
    view.refresh_from_db()
    assert view.where == f"({name.pk},blank)"


def test_operator_menu_fits_the_field_type(web, projects, view):
    from views.filters import operators_for

    assert "like" in operators_for(field(projects, "name"))
    assert "gt" not in operators_for(field(projects, "name"))
    assert "checked" in operators_for(field(projects, "done"))
    assert "like" not in operators_for(field(projects, "budget"))
    assert "isWithin" in operators_for(field(projects, "due date"))
    assert "anyof" in operators_for(field(projects, "status"))


def test_sorts_are_saved_and_removed(web, projects, view):
    status, budget = field(projects, "status"), field(projects, "budget")
    web.post(url(view, "sorts"), {"add": status.pk}, **HX)
    r = web.post(
        url(view, "sorts"),
        {"field": [status.pk], "dir": ["asc"], "add": budget.pk},
        **HX,
    )
    assert "grid:reload" in r.headers["HX-Trigger"]
    web.post(
        url(view, "sorts"),
        {"field": [status.pk, budget.pk], "dir": ["asc", "desc"]},
        **HX,
    )
    view.refresh_from_db()
    assert view.sort == f"{status.pk},-{budget.pk}"
    rows = records.list_records(
        projects, {"limit": "200"}, view=view, actor=SYSTEM
    ).rows
    keys = [(r["status"] or "", -(r["budget"] or 0)) for r in rows]
    assert keys == sorted(keys)
    web.post(
        url(view, "sorts"),
        {"field": [status.pk, budget.pk], "dir": ["asc", "desc"], "remove": "0"},
        **HX,
    )
    view.refresh_from_db()
    assert view.sort == f"-{budget.pk}"


def test_group_by_up_to_three_levels_with_counts(web, projects, view):
    status, done = field(projects, "status"), field(projects, "done")
    web.post(url(view, "group"), {"add": status.pk}, **HX)
    web.post(
        url(view, "group"), {"field": [status.pk], "dir": ["asc"], "add": done.pk}, **HX
    )
    view.refresh_from_db()
    assert view.options["group_by"] == [
        {"field": status.pk, "desc": False},
        {"field": done.pk, "desc": False},
    ]
    top = web.get(url(view, "groups")).content.decode()
    total = records.count_records(projects, actor=SYSTEM)
    counts = [
        int(c.split("</span>")[0].replace(",", ""))
        for c in top.split('class="group-count"')[1:]
        for c in [c.split(">", 1)[1]]
    ]
    assert sum(counts) == total and len(counts) >= 2
    first = top.split('data-group-where="')[1].split('"')[0]
    assert status.pk in first
    too_many = web.post(
        url(view, "group"),
        {
            "field": [status.pk, done.pk, field(projects, "name").pk],
            "dir": ["asc"] * 3,
            "add": field(projects, "budget").pk,
        },
        **HX,
    )
    assert b"at most 3" in too_many.content
    assert len(View.objects.get(pk=view.pk).options["group_by"]) == 2


def test_group_rows_use_the_grid_row_partial(web, projects, view):
    status = field(projects, "status")
    web.post(url(view, "group"), {"add": status.pk}, **HX)
    where = f"({status.pk},eq,active)"
    body = web.get(url(view, "groups/rows"), {"within": where}).content.decode()
    expected = records.count_records(
        projects, {"where": "(status,eq,active)"}, actor=SYSTEM
    )
    assert body.count("<tr") - 1 == expected  # header row + one per record


def test_hidden_fields(web, projects, view):
    name, budget = field(projects, "name"), field(projects, "budget")
    shown = [
        f.pk for f in projects.fields.all() if not f.is_system and f.pk != budget.pk
    ]
    r = web.post(url(view, "fields"), {"show": shown}, **HX)
    assert "grid:reload" in r.headers["HX-Trigger"]
    view.refresh_from_db()
    assert view.hidden_fields == [budget.pk]
    web.post(url(view, "fields"), {"all": "show"}, **HX)
    view.refresh_from_db()
    assert view.hidden_fields == []
    assert name.pk  # used


def test_footer_counts_and_aggregates(web, projects, view):
    budget = field(projects, "budget")
    r = web.post(url(view, "footer"), {"field": budget.pk, "fn": "sum"}, **HX)
    body = r.content.decode()
    view.refresh_from_db()
    assert view.options["aggregates"] == {budget.pk: "sum"}
    total = records.count_records(projects, actor=SYSTEM)
    assert f"{total} rows" in body
    rows = records.list_records(projects, {"limit": "1000"}, actor=SYSTEM).rows
    expected = sum(r["budget"] or 0 for r in rows)
    assert "Sum of budget" in body and f"{expected:,.2f}".rstrip("0").rstrip(
        "."
    ) in body.replace("\u202f", ",")
    bad = web.post(
        url(view, "footer"), {"field": field(projects, "name").pk, "fn": "sum"}, **HX
    )
    assert b"does not apply" in bad.content


def test_footer_aggregates_over_formulas(web, api, projects, view):
    """A footer sums a number formula and counts a text formula's filled cells, computed in
    SQL over the view's rows (its filter applies); a sum of a text formula is refused."""
    for title, formula in (("Half", "{budget} / 2"), ("Tag", "UPPER(LEFT({name}, 1))")):
        made = api.post(
            f"/api/v2/meta/tables/{projects.pk}/columns",
            {"title": title, "uidt": "Formula", "formula_raw": formula},
            format="json",
        )
        assert made.status_code == 201, made.content
    services.view_update(actor=SYSTEM, view=view, data={"where": "(budget,gt,10000)"})
    half, tag = field(projects, "Half"), field(projects, "Tag")
    web.post(url(view, "footer"), {"field": half.pk, "fn": "sum"}, **HX)
    body = web.post(url(view, "footer"), {"field": tag.pk, "fn": "filled"}, **HX)
    body = body.content.decode()
    view.refresh_from_db()
    assert view.options["aggregates"] == {half.pk: "sum", tag.pk: "filled"}
    rows = records.list_records(
        projects, {"limit": "1000", "where": "(budget,gt,10000)"}, actor=SYSTEM
    ).rows
    expected = sum(r["budget"] for r in rows) / 2
    assert "Sum of Half" in body
    assert f"{expected:,.2f}".rstrip("0").rstrip(".") in body.replace("\u202f", ",")
    filled = body.split("Filled of Tag</span>")[1].split("</strong>")[0]
    assert filled.strip() == f"<strong>{len(rows)}"
    bad = web.post(url(view, "footer"), {"field": tag.pk, "fn": "sum"}, **HX)
    assert b"does not apply" in bad.content


def test_search_is_temporary_and_narrows_count(web, projects, view):
    body = web.get(url(view, "footer"), {"q": "active"}).content.decode()
    n = records.count_records(projects, search="active", actor=SYSTEM)
    assert 0 < n < records.count_records(projects, actor=SYSTEM)
    assert f"{n} row" in body and "matching" in body
    view.refresh_from_db()
    assert view.where == ""


def test_view_tabs_create_rename_duplicate_reorder_delete(web, projects, view):
    base_id = projects.base_id
    r = web.post(
        f"/bases/{base_id}/tables/{projects.pk}/views/new", {"title": "Open work"}, **HX
    )
    new = View.objects.get(table=projects, title="Open work")
    assert r.status_code == 200 and new.pk in r.headers["HX-Redirect"]
    dup = web.post(
        f"/bases/{base_id}/tables/{projects.pk}/views/new", {"title": "open WORK"}, **HX
    )
    assert b"exists already" in dup.content and b'value="open WORK"' in dup.content
    r = web.post(
        url(new, "rename"), {"title": "Open projects", "current": new.pk}, **HX
    )
    assert b"Open projects" in r.content
    r = web.post(url(new, "duplicate"), **HX)
    copy = View.objects.get(table=projects, title="Open projects copy")
    r = web.post(
        f"/bases/{base_id}/tables/{projects.pk}/views/reorder",
        {"order": [copy.pk, view.pk, new.pk]},
        **HX,
    )
    assert [v.pk for v in projects.views.all()] == [copy.pk, view.pk, new.pk]
    web.post(url(copy, "delete"), {"current": view.pk}, **HX)
    web.post(url(new, "delete"), {"current": view.pk}, **HX)
    last = web.post(url(view, "delete"), {"current": view.pk}, **HX)
    assert b"at least one view" in last.content
    assert list(projects.views.all()) == [view]


def test_viewers_see_but_cannot_change_the_config(client, other_user, projects, view):
    membership_create(base=projects.base, user=other_user, role="viewer")
    client.force_login(other_user)
    name = field(projects, "name")
    r = client.post(
        url(view, "filters"), {"tree": json.dumps(tree(cond(name, "blank")))}, **HX
    )
    assert r.status_code == 403
    view.refresh_from_db()
    assert view.where == ""
    footer = client.get(url(view, "footer"))
    assert footer.status_code == 200 and b"+ Summary" not in footer.content
    page = client.get(f"/bases/{projects.base_id}/tables/{projects.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="toolbar"' in body
    assert "+ View" not in body and "Delete view" not in body
    assert "<fieldset disabled>" in body  # the panels show the config, read-only
    # A viewer may search: it is not a change to the view.
    assert client.get(url(view, "footer"), {"q": "active"}).status_code == 200


def test_footer_marks_an_estimated_count_and_counts_exactly_on_request(
    web, projects, view
):
    from django.test import override_settings

    with override_settings(NOCO_EXACT_COUNT_LIMIT=5):
        rough = web.get(url(view, "footer")).content.decode()
        exact = web.get(url(view, "footer"), {"exact": "1"}).content.decode()
    assert "estimated" in rough and "≈" in rough and "count exactly" in rough
    total = records.count_records(projects, actor=SYSTEM)
    assert f"{total} rows" in exact and "estimated" not in exact


def test_grouped_page_includes_the_group_body(web, projects, view):
    status = field(projects, "status")
    web.post(url(view, "group"), {"add": status.pk}, **HX)
    page = web.get(f"/bases/{projects.base_id}/tables/{projects.pk}/").content.decode()
    assert 'id="grid-groups"' in page


def test_a_view_of_another_base_is_not_found(web, projects, view, other_user):
    from bases.demo import create_demo_base

    theirs = create_demo_base(other_user).tables.get(title="projects")
    their_view = services.default_view(theirs)
    assert web.get(url(their_view, "filters")).status_code == 404
    assert web.post(url(their_view, "sorts"), {"add": "x"}).status_code == 404
    wrong_base = f"/bases/{projects.base_id}/views/{their_view.pk}/footer"
    assert web.get(wrong_base).status_code == 404


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '{"type": "group", "children": "abc"}',
        '{"type": "group", "children": ["x", 3]}',
        '{"type": "group", "children": [{"type": "condition", "field": 5, "op": []}]}',
        '{"type": "group", "logic": "xor", "children": []}',
        "[" * 5000 + "]" * 5000,
        '{"type": "group", "children": ['
        + '{"type": "group", "children": [' * 40
        + "]}" * 40
        + "]}",
    ],
)
def test_malformed_builder_posts_are_messages_not_500(web, view, raw):
    for action in ("", "add-condition:0", "remove:0.1", "add-group:zz"):
        response = web.post(url(view, "filters"), {"tree": raw, "action": action}, **HX)
        assert response.status_code == 200, response.content[:300]
        view.refresh_from_db()
        assert view.where == ""


def test_sort_and_group_by_a_link_field_are_refused_with_a_reason(web, projects, view):
    link = projects.fields.get(uidt="LinkToAnotherRecord", title="tasks")
    r = web.post(url(view, "sorts"), {"add": link.pk}, **HX)
    assert r.status_code == 200 and b"Cannot sort by the link field" in r.content
    assert "HX-Trigger" not in r.headers
    r = web.post(url(view, "group"), {"add": link.pk}, **HX)
    assert b"Cannot group by" in r.content
    view.refresh_from_db()
    assert view.sort == "" and not view.options.get("group_by")


def test_a_big_group_pages_with_show_more(web, projects, view, monkeypatch):
    from views import summaries

    GROUP_ROWS = 60
    monkeypatch.setattr(summaries, "GROUP_ROWS", GROUP_ROWS)
    done = field(projects, "done")
    web.post(url(view, "group"), {"add": done.pk}, **HX)
    where = f"({done.pk},notchecked)"
    total = records.count_records(projects, {"where": where}, actor=SYSTEM)
    assert GROUP_ROWS < total <= 2 * GROUP_ROWS
    first = web.get(url(view, "groups/rows"), {"within": where}).content.decode()
    assert first.count('class="grid-row') == GROUP_ROWS
    cursor = first.split('"cursor": "')[1].split('"')[0]
    more = web.get(
        url(view, "groups/rows"),
        {"within": where, "cursor": cursor, "start": str(GROUP_ROWS)},
    ).content.decode()
    assert more.count('class="grid-row') == total - GROUP_ROWS
    assert 'hx-swap-oob="true"' in more and "Show more rows" not in more


def test_select_fields_offer_their_options_in_the_builder(web, projects, view):
    status = field(projects, "status")
    posted = tree(cond(status, "anyof", ["active", "gone"]), cond(status, "eq", ""))
    body = web.post(url(view, "filters"), {"tree": json.dumps(posted)}, **HX).content
    body = body.decode()
    assert body.count('class="chip"') == 5  # every option of the field
    assert 'value="active" id="fb-0-c2" checked' in body
    assert 'class="chip missing"' in body and "gone" in body  # kept, marked
    assert '<option value="" selected>choose…</option>' in body


def test_a_filter_on_a_deleted_field_shows_in_the_builder_to_be_fixed(
    web, projects, view
):
    View.objects.filter(pk=view.pk).update(where="(gone,eq,1)~and(name,blank)")
    page = web.get(f"/bases/{projects.base_id}/tables/{projects.pk}/")
    assert page.status_code == 200
    panel = web.get(url(view, "filters")).content.decode()
    assert "gone (missing)" in panel
    # Removing the broken condition saves the rest.
    name = field(projects, "name")
    posted = tree(cond(name, "blank"))
    web.post(url(view, "filters"), {"tree": json.dumps(posted)}, **HX)
    view.refresh_from_db()
    assert view.where == f"({name.pk},blank)"


def test_clear_all_filters(web, projects, view):
    name = field(projects, "name")
    posted = tree(cond(name, "blank"), tree(cond(name, "notblank")))
    web.post(url(view, "filters"), {"tree": json.dumps(posted)}, **HX)
    view.refresh_from_db()
    assert view.where
    r = web.post(
        url(view, "filters"),
        {"tree": json.dumps(posted), "action": "remove:root"},
        **HX,
    )
    assert "grid:reload" in r.headers["HX-Trigger"]
    view.refresh_from_db()
    assert view.where == ""
    assert b"Clear all filters" not in r.content and b"No filters" in r.content
