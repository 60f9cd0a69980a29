"""Formula fields in the grid: added through the page's add-field form (errors shown with the
typed text kept), shown per result type, read-only, and `#ERROR` once a field they use is gone."""

import pytest

from bases import records, schema_services
from bases.fieldtypes import field_type_for
from permissions.checks import SYSTEM
from views.grid.cells import is_editable

pytestmark = pytest.mark.django_db


def test_add_formula_from_the_grid_page(web, demo, projects, owner):
    url = f"/bases/{demo.pk}/tables/{projects.pk}/"
    bad = web.post(
        url, {"title": "Gross", "uidt": "Formula", "formula_raw": "{budgte} * 2"}
    )
    assert bad.status_code == 200
    page = bad.content.decode()
    assert "There is no field named {budgte}. Did you mean {budget}?" in page
    assert 'value="{budgte} * 2"' in page  # the typed text is kept
    ok = web.post(
        url, {"title": "Gross", "uidt": "Formula", "formula_raw": "{budget} * 2"}
    )
    assert ok.status_code == 302, ok.content.decode()[:2000]

    gross = projects.fields.get(title="Gross")
    first = records.list_records(projects, {"sort": "id", "limit": 1}, actor=SYSTEM)[0]
    shown = field_type_for(gross).display_html(gross, first["Gross"])
    assert shown and float(first["Gross"]) == 2 * float(first["budget"])
    page = web.get(url).content.decode()
    assert "t-Formula" in page and shown in page
    meta = records.TableMeta.of(projects, actor=owner)
    assert not is_editable(gross, meta, table_writable=True)

    # A field it uses is deleted: the table still shows, the cell says why.
    done = schema_services.field_create(
        actor=owner,
        table=projects,
        data={"title": "Twice", "uidt": "Formula", "formula_raw": "{Gross} * 2"},
    )
    schema_services.field_delete(actor=owner, field=gross)
    done.refresh_from_db()
    assert done.options["error"]["code"] == "FORMULA_UNKNOWN_FIELD"
    page = web.get(url).content.decode()
    assert "#ERROR" in page and "There is no field named {Gross}" in page


def test_formula_is_hidden_by_field_rules_and_never_on_forms(projects, owner, editor):
    from permissions.checks import Actor
    from permissions.services import field_rule_set
    from views.form_view import fillable

    gross = schema_services.field_create(
        actor=owner,
        table=projects,
        data={"title": "Gross", "uidt": "Formula", "formula_raw": "{budget} * 2"},
    )
    assert not fillable(gross, records.TableMeta.of(projects, actor=owner))
    field_rule_set(actor=owner, field=gross, hidden_below="creator")
    editor_actor = Actor(user=editor)
    row = records.list_records(projects, {"limit": 1}, actor=editor_actor)[0]
    assert "Gross" not in row and "budget" in row
    with pytest.raises(Exception) as caught:
        records.list_records(projects, {"where": "(Gross,gt,0)"}, actor=editor_actor)
    assert getattr(caught.value, "code", "") == "FIELD_NOT_FOUND"
    assert "Gross" in records.list_records(projects, {"limit": 1}, actor=owner)[0]
