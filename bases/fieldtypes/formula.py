"""Formula: a computed field whose value is an expression over the row's other fields
(`{Budget} * 1.2`), compiled to SQL and computed by the database (docs/formulas.md).

Options, as stored:
- `formula`: the text with each field named by its id (`{c1a2b3} * 1.2`), so renaming a field
  rewrites nothing; `formula_raw` (what the API and the UI show) is rendered with the current
  titles. A reference to a field that was deleted is kept as its last title (`{Budget}`), so the
  text still reads well and the formula works again if a field of that name comes back.
- `error`: `{code, message}` while the formula cannot be computed (a field it uses was deleted
  or changed type); its value is then NULL and the cell shows the message.
- `display`: "url" when the result is shown as a link (URL()).

The field has no column; its `column_type` is its result type's (decimal, text, date, datetime,
boolean), so filters, sorts, group-by, aggregates and value conversion treat it like a column of
that type.
"""

from __future__ import annotations

import copy
import decimal

from bases.fieldtypes.base import FieldType
from bases.fieldtypes.columns import BOOLEAN, DATE, DATETIME, DECIMAL, TEXT
from bases.fieldtypes.html import escape, format_html
from bases.formula import FieldSpec, FormulaError, FType, TypedFormula, check
from bases.formula.lexer import field_ref, field_refs, rewrite_refs
from nocoplatform.errors import InvalidInput

RESULT_COLUMN = {
    FType.NUMBER: DECIMAL,
    FType.TEXT: TEXT,
    FType.BLANK: TEXT,
    FType.DATE: DATE,
    FType.DATETIME: DATETIME,
    FType.BOOLEAN: BOOLEAN,
}
# The stored type a result is shown, copied and described like.
_SHOWN_AS = {
    DECIMAL: "Decimal",
    TEXT: "SingleLineText",
    DATE: "Date",
    DATETIME: "DateTime",
    BOOLEAN: "Checkbox",
}
_RESULT_TYPES = {v: k for k, v in RESULT_COLUMN.items() if k is not FType.BLANK}
_RESULT_NAMES = {
    DECIMAL: "number",
    TEXT: "text",
    DATE: "date",
    DATETIME: "datetime",
    BOOLEAN: "boolean",
}


class Formula(FieldType):
    uidt, label = "Formula", "Formula"
    computed = virtual = read_only = True
    typed_in_cell = False
    fillable = False
    icon = "ƒ"
    column_width = 160
    options_ui = "formula"

    # ---- the value

    def sql(self, field, ctx):
        from bases.query.formula import Frag, compile_formula

        try:
            typed = checked(field)
        except FormulaError:
            return Frag("NULL")
        # Typed as its result (SQLite: a decimal gets NUMERIC affinity, as a keyset cursor
        # binds decimals as text and compares them with the expression).
        return ctx.dialect.typed_result(
            compile_formula(
                typed, ctx.dialect.vendor, lambda spec: ctx.column(spec.key)
            ),
            field.column_type,
        )

    def formula_type(self, field):
        return _RESULT_TYPES.get(field.column_type)

    # ---- what it is shown as

    def _shown(self, field) -> FieldType:
        from bases.fieldtypes.registry import REGISTRY

        if field.column_type == TEXT and (field.options or {}).get("display") == "url":
            return REGISTRY["URL"]
        return REGISTRY[_SHOWN_AS.get(field.column_type, "SingleLineText")]

    def schema(self, field) -> dict:
        schema = dict(self._shown(field).openapi)
        schema["readOnly"] = True
        schema["nullable"] = True
        description = f"Formula ({_RESULT_NAMES.get(field.column_type, 'text')})"
        if field.description:
            description += f": {field.description}"
        schema["description"] = description
        return schema

    def filter_operators(self, field) -> list[str]:
        # Those of the type its result is shown as (probed on a stand-in column of that type).
        shown = self._shown(field)
        stand_in = copy.copy(field)
        stand_in.uidt, stand_in.column_name = shown.uidt, "value"
        return shown.filter_operators(stand_in)

    def stacks_cards(self, field) -> bool:
        return field.column_type == TEXT

    def on_calendar(self, field) -> bool:
        return field.column_type in (DATE, DATETIME)

    def aggregates(self, field) -> list[str]:
        if field.column_type == BOOLEAN:
            return ["empty", "filled"]
        return super().aggregates(field)

    def edit_text(self, field, value) -> str:
        return self._shown(field).edit_text(field, value)

    def display_html(self, field, value, file_url=None) -> str:
        error = (field.options or {}).get("error")
        if error:
            return format_html(
                '<span class="formula-error" title="{}">#ERROR</span>',
                error.get("message", ""),
            )
        if field.column_type == BOOLEAN:
            return self._shown(field).display_html(field, value) if value else ""
        if value is None or value == "":
            return ""
        if field.column_type == DECIMAL:  # right-aligned like number columns
            return format_html('<span class="fx-num">{}</span>', _number_text(value))
        return self._shown(field).show(field, value, file_url)

    def show(self, field, value, file_url=None) -> str:
        return escape(self.edit_text(field, value))

    # ---- the meta API

    def fields_changed(self, table, *, gone=None) -> None:
        if gone is not None:
            forget_field(table, gone)
        recheck(table)

    def column_options(self, field) -> dict:
        o = field.options or {}
        return {
            "formula": o.get("formula", ""),
            "formula_raw": formula_raw(field),
            "error": (o.get("error") or {}).get("message"),
            "result_type": _RESULT_NAMES.get(field.column_type, "text"),
        }

    def define(
        self, table, data: dict, *, field=None, visible=None
    ) -> tuple[dict, str]:
        text = data.get("formula_raw")
        if text is None:
            text = data.get("formula")
        if text is None and isinstance(data.get("colOptions"), dict):
            text = data["colOptions"].get("formula_raw") or data["colOptions"].get(
                "formula"
            )
        if text is None and field is not None:
            return dict(field.options), field.column_type
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(
                'A formula field needs `formula_raw`, e.g. "{Budget} * 1.2".',
                code="FORMULA_SYNTAX",
                details={"position": 0},
            )
        fields = [f for f in table.fields.all() if field is None or f.pk != field.pk]
        by_title = {f.title: f for f in fields}
        stored = rewrite_refs(
            text, lambda name: by_title[name].id if name in by_title else None
        )
        title = str(data.get("title") or (field.title if field else "") or "").strip()
        me = _Unsaved(title, field.id if field else "", stored)
        lookup = lookup_for([*fields, me], visible)
        if visible is not None:
            # Fields hidden from the author are unknown to their formula, by title or by id.
            for start, _, name in field_refs(text):
                spec = lookup.get(name)
                if (
                    spec is not None
                    and spec.key is not me
                    and spec.key.id not in visible
                ):
                    raise FormulaError(
                        f"There is no field named {field_ref(name)}.",
                        start,
                        code="FORMULA_UNKNOWN_FIELD",
                    )
        typed = check(text, lookup, title=title or None)
        options = {"formula": stored}
        if typed.display:
            options["display"] = typed.display
        return options, RESULT_COLUMN[typed.type]


def _number_text(value) -> str:
    """A computed number as a cell shows it: no trailing zeros, and no float noise (SQLite
    computes in binary floating point: 50.5 * 1.2 is 60.599999999999994 there)."""
    try:
        number = decimal.Decimal(str(value)).quantize(decimal.Decimal("1e-10"))
    except (decimal.InvalidOperation, ValueError):
        return str(value)
    text = f"{number.normalize():f}"
    return "0" if text == "-0" else text


class _Unsaved:
    """The formula being created, so a reference to itself is a circular one."""

    uidt = "Formula"
    column_type = ""

    def __init__(self, title: str, id: str, formula: str):
        self.title, self.id = title, id
        self.options = {"formula": formula}


# ---- checking, with the table's fields ---------------------------------------------------------


def lookup_for(fields, visible=None):
    """The checker's lookup over `fields`: a name is a field id (stored formulas) or a title
    (typed text). Fields a formula cannot use are unknown to it; with `visible` (field ids),
    only those fields are known by title (and suggested)."""
    from bases.fieldtypes.registry import field_type_for

    specs: dict[str, FieldSpec] = {}
    titles: dict[str, FieldSpec] = {}
    for f in fields:
        ftype = field_type_for(f)
        if isinstance(ftype, Formula):
            formula = (f.options or {}).get("formula") or ""
            spec = FieldSpec(f.title, FType.BLANK, formula=formula, key=f)
        else:
            kind = ftype.formula_type(f)
            if kind is None:
                continue
            spec = FieldSpec(f.title, kind, key=f)
        if f.id:
            specs[f.id] = spec
        if visible is None or f.id in visible or isinstance(f, _Unsaved):
            titles.setdefault(f.title, spec)

    return _Lookup(specs, titles)


class _Lookup(dict):
    """A mapping of titles (for the checker's "did you mean") that also resolves field ids."""

    def __init__(self, by_id: dict, by_title: dict):
        super().__init__(by_title)
        self.by_id = by_id

    def get(self, name, default=None):
        return self.by_id.get(name) or super().get(name, default)


def table_fields(field) -> list:
    from bases.table_meta import TableMeta

    return TableMeta.unrestricted(field.table).all_fields


def checked(field) -> TypedFormula:
    """`field`'s formula checked against its table's fields as they are (cached on the field,
    whose metadata version it belongs to); a FormulaError when it cannot be computed."""
    cached = getattr(field, "_noco_formula", None)
    text = (field.options or {}).get("formula") or ""
    if cached is not None and cached[0] == text:
        if isinstance(cached[1], FormulaError):
            raise cached[1]
        return cached[1]
    try:
        result = check(text, lookup_for(table_fields(field)), title=field.title)
    except FormulaError as error:
        field._noco_formula = (text, error)
        raise
    field._noco_formula = (text, result)
    return result


def formula_raw(field, fields=None) -> str:
    """The formula as people read and type it: fields by their current titles."""
    text = (field.options or {}).get("formula") or ""
    try:
        fields = table_fields(field) if fields is None else fields
    except Exception:  # noqa: BLE001 - an unsaved field: the text as stored
        return text
    by_id = {f.id: f.title for f in fields}
    return rewrite_refs(text, by_id.get)


def recheck(table) -> list:
    """Re-check every formula of `table` after one of its fields changed (created, renamed,
    retyped, deleted, or another formula changed): its result type and error as they are now.
    Saves and returns the formulas that changed."""
    from bases.fieldtypes.registry import field_type_for

    fields = list(table.fields.all())
    lookup = lookup_for(fields)
    changed = []
    for f in fields:
        if not isinstance(field_type_for(f), Formula):
            continue
        options = dict(f.options or {})
        column_type = f.column_type
        try:
            typed = check(options.get("formula") or "", lookup, title=f.title)
        except FormulaError as error:
            options["error"] = {"code": error.code, "message": error.message}
        else:
            options.pop("error", None)
            column_type = RESULT_COLUMN[typed.type]
        if options != f.options or column_type != f.column_type:
            f.options, f.column_type = options, column_type
            f.save(update_fields=["options", "column_type", "updated_at"])
            changed.append(f)
    return changed


def forget_field(table, gone) -> None:
    """Before `gone` is deleted: formulas naming it by id keep its title instead (they become
    invalid: recheck() after the delete records why)."""
    from bases.fieldtypes.registry import field_type_for

    for f in table.fields.all():
        if f.pk == gone.pk or not isinstance(field_type_for(f), Formula):
            continue
        text = (f.options or {}).get("formula") or ""
        new = rewrite_refs(text, lambda name: gone.title if name == gone.id else None)
        if new != text:
            f.options = {**f.options, "formula": new}
            f.save(update_fields=["options", "updated_at"])
