"""Fields from the grid (views/grid/fields.py): the "+" panel, the header menu's rename and
edit, who sees them, and cards that show a linked record's display value."""

import pytest
from django.http import QueryDict

from bases import records
from bases.models import Field
from nocoplatform.errors import InvalidInput
from permissions.checks import SYSTEM
from views.grid.fields import field_data, panel_context
from views.services import view_create

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def url(table, tail=""):
    return f"/bases/{table.base_id}/tables/{table.pk}/{tail}"


def test_panel_offers_every_addable_type_and_this_bases_tables(web, demo, projects):
    page = web.get(url(projects, "grid/field-panel")).content.decode()
    for label in ("Single line text", "Single select", "Link to another record"):
        assert label in page
    assert 'value="LinkToAnotherRecord" data-ui="link"' in page
    assert 'value="SingleSelect" data-ui="choices"' in page
    clients = demo.tables.get(title="clients")
    assert f'<option value="{clients.pk}">clients</option>' in page
    # A lookup goes through one of this table's links, to a field of the linked table.
    link = projects.fields.get(uidt="LinkToAnotherRecord", title="tasks")
    assert f'<option value="{link.pk}">tasks → tasks</option>' in page
    assert f'data-link-of="{link.pk}"' in page


def test_add_a_text_field_from_the_panel(web, projects):
    response = web.post(url(projects), {"title": "Owner", "uidt": "LongText"}, **HX)
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    assert projects.fields.get(title="Owner").uidt == "LongText"


def test_add_a_select_with_options_one_a_line(web, projects):
    web.post(
        url(projects),
        {"title": "Size", "uidt": "SingleSelect", "choices": "S\nM, L\n\nM"},
        **HX,
    )
    choices = projects.fields.get(title="Size").options["choices"]
    assert [c["title"] for c in choices] == ["S", "M", "L"]


def test_add_a_link_field_from_the_panel(web, demo, projects):
    clients = demo.tables.get(title="clients")
    response = web.post(
        url(projects),
        {
            "title": "Sponsor",
            "uidt": "LinkToAnotherRecord",
            "related_table_id": clients.pk,
            "relation": "bt",
        },
        **HX,
    )
    assert response["HX-Refresh"] == "true"
    link = projects.fields.get(title="Sponsor")
    assert link.related_table_id == clients.pk and link.options["relation"] == "bt"


def test_a_refused_field_comes_back_in_the_panel_with_what_was_typed(web, projects):
    response = web.post(
        url(projects),
        {"title": "status", "uidt": "SingleSelect", "choices": "x\ny"},
        **HX,
    )
    page = response.content.decode()
    assert response.status_code == 200 and "HX-Refresh" not in response
    assert "exists already" in page and 'value="status"' in page
    assert 'value="SingleSelect" data-ui="choices" checked' in page
    assert ">x\ny</textarea>" in page
    # A plain post (no htmx): the page, with the panel open.
    page = web.post(url(projects), {"title": "", "uidt": "Number"}).content.decode()
    assert "data-open" in page and "needs a title" in page


def test_rename_from_the_header_menu_answers_json(web, projects):
    budget = projects.fields.get(title="budget")
    response = web.post(url(projects, f"grid/fields/{budget.pk}"), {"title": "Budget"})
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert Field.objects.get(pk=budget.pk).title == "Budget"
    clash = web.post(url(projects, f"grid/fields/{budget.pk}"), {"title": "status"})
    assert clash.status_code == 409 and clash.json()["error"] == "DUPLICATE_TITLE"
    empty = web.post(url(projects, f"grid/fields/{budget.pk}"), {"title": " "})
    assert empty.status_code == 400


def test_edit_panel_changes_options_and_keeps_their_colours(web, projects):
    status = projects.fields.get(title="status")
    colours = {c["title"]: c["color"] for c in status.options["choices"]}
    page = web.get(
        url(projects, f"grid/field-panel?field={status.pk}")
    ).content.decode()
    assert "planned\nactive" in page and 'value="status"' in page
    response = web.post(
        url(projects, f"grid/fields/{status.pk}"),
        {"title": "stage", "uidt": "SingleSelect", "choices": "planned\nactive\nnew"},
        **HX,
    )
    assert response["HX-Refresh"] == "true"
    status = Field.objects.get(pk=status.pk)
    assert status.title == "stage"
    by_title = {c["title"]: c.get("color") for c in status.options["choices"]}
    assert list(by_title) == ["planned", "active", "new"]
    assert by_title["planned"] == colours["planned"]


def test_a_links_type_cannot_be_changed_in_its_edit_panel(web, projects):
    link = projects.fields.get(title="tasks")
    page = web.get(url(projects, f"grid/field-panel?field={link.pk}")).content.decode()
    assert page.count('name="uidt"') == 1 and 'value="LinkToAnotherRecord"' in page


def test_only_people_who_change_fields_get_the_plus_and_header_menus(
    client, web, editor, projects
):
    page = web.get(url(projects)).content.decode()
    assert 'data-field-action="add"' in page and "data-field-menu=" in page
    assert 'id="field-dialog"' in page and "fields-panel" not in page
    client.force_login(editor)
    page = client.get(url(projects)).content.decode()
    assert "data-field-action" not in page and "data-field-menu" not in page
    assert 'id="field-dialog"' not in page
    assert client.get(url(projects, "grid/field-panel")).status_code == 403
    budget = projects.fields.get(title="budget")
    refused = client.post(url(projects, f"grid/fields/{budget.pk}"), {"title": "x"})
    assert refused.status_code == 403
    assert Field.objects.get(pk=budget.pk).title == "budget"


def test_posted_lookup_and_rollup_targets_go_to_their_nocodb_keys(monkeypatch):
    from bases.fieldtypes import registry

    class Lookup:
        options_ui = "lookup"

    monkeypatch.setitem(registry.REGISTRY, "Lookup", Lookup())
    post = QueryDict(mutable=True)
    post.update(
        {"title": "Client city", "uidt": "Lookup", "fk_relation_column_id": "l1"}
    )
    post.update({"fk_target": "f9", "formula_raw": ""})
    data = field_data(post)
    assert data["fk_lookup_column_id"] == "f9" and data["fk_relation_column_id"] == "l1"
    assert "fk_rollup_column_id" not in data


def test_a_formula_error_position_is_marked_with_the_text_kept(rf, user, projects):
    from django.template.loader import render_to_string

    request = rf.post("/", {"title": "F", "formula_raw": "{budget} * * 2"})
    request.actor = SYSTEM
    request.user = user
    error = InvalidInput("Unexpected '*'", details={"position": 11})
    ctx = panel_context(request, projects, posted=request.POST, error=error)
    html = render_to_string("views/partials/field_panel.html", ctx, request)
    assert 'data-error-at="11"' in html and "{budget} * * 2</textarea>" in html
    assert "{budget} * <mark>*</mark> 2" in html
    assert 'data-insert="budget"' in html  # the field-name helper


def test_cards_show_a_foreign_key_as_the_linked_records_display_value(
    web, owner, demo, projects
):
    board = view_create(actor=owner, table=projects, title="board", type="kanban")
    status = projects.fields.get(title="status")
    board.options = {"stack_field": status.pk}
    board.save()
    page = web.get(url(projects, f"views/{board.pk}/")).content.decode()
    link = next(
        f
        for f in projects.fields.filter(uidt="LinkToAnotherRecord")
        if f.options.get("relation") == "bt"
    )
    fk = projects.fields.get(column_name=link.options["fk_column"])
    assert f"<dt>{fk.title}</dt>" not in page
    shown = page.split(f"<dt>{link.title}</dt><dd>")[1].split("</dd>")[0]
    clients = demo.tables.get(title="clients")
    names = {
        r["name"]
        for r in records.list_records(clients, {"limit": "100"}, actor=SYSTEM).rows
    }
    assert any(name in shown for name in names), shown
