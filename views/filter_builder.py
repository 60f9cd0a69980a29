"""The toolbar's filter builder: the view's filter as an editable tree for the template
(templates/views/partials/toolbar_bar.html#filters), and the builder's actions (add a condition or a group,
remove one) on a posted tree. views/toolbar.filter_panel saves it; views/filters.py converts
between trees and where text.
"""

from __future__ import annotations

from bases.fieldtypes import field_type_for
from nocoplatform.errors import DomainError, InvalidInput
from views import filters


def shown_fields(meta) -> list:
    """The fields a toolbar panel offers: every field the user sees but system ones."""
    return [f for f in meta.fields if not f.is_system]


def _builder_tree(tree: dict, meta, errors: dict[str, str]) -> dict:
    """The tree decorated for the template: paths, field and operator menus, errors."""
    fields = [f for f in shown_fields(meta) if filters.filterable(f)]
    options = [(f.id, f.title) for f in fields]

    def walk(item: dict, path: str, depth: int) -> dict:
        if item.get("type") == "group":
            children = [
                walk(c, f"{path}.{i}" if path else str(i), depth + 1)
                for i, c in enumerate(item.get("children") or [])
                if isinstance(c, dict)
            ]
            return {
                "kind": "group",
                "path": path or "root",
                "logic": item.get("logic") if item.get("logic") == "or" else "and",
                "not": bool(item.get("not")),
                "children": children,
                "depth": depth,
                "can_nest": depth < 3,
                "error": errors.get(path or "root", ""),
            }
        field = meta.resolve.by_id.get(item.get("field") or "")
        if field is None:
            try:
                field = meta.resolve(str(item.get("field") or ""))
            except DomainError:
                field = None
        if field is None and _hidden_ref(meta, item.get("field")):
            # A condition the view's creator set on a field hidden from this user: shown
            # as such, without the field's id or the value (hidden fields never leave).
            return _hidden_condition(path, item, errors)
        ops = filters.operators_for(field) if field is not None else []
        op = filters.canonical(item.get("op"))
        if field is not None and op not in ops and ops:
            op = op if op in filters.OPERATOR_LABELS else ops[0]
        value = item.get("value")
        kind = filters.arity(op) if op in filters.OPERATOR_LABELS else "one"
        choices = (
            [c.get("title") for c in (field.options or {}).get("choices", [])]
            if field is not None and field_type_for(field).has_choices
            else []
        )
        if isinstance(value, list):
            values = [str(v) for v in value]
            first, second = (values + ["", ""])[:2]
            text = ", ".join(values)
        else:
            first, second, text = value or "", "", value or ""
            values = [text] if text else []
        return {
            "kind": "condition",
            "path": path,
            "field": field.id if field else str(item.get("field") or ""),
            "field_missing": field is None,
            "field_label": f"{item.get('field') or ''} (missing)",
            "uidt": field.uidt if field else "",
            "op": op,
            "ops": [(o, filters.OPERATOR_LABELS[o]) for o in ops],
            "arity": kind,
            "is_between": op in ("btw", "nbtw"),
            "value": text,
            "value1": first,
            "value2": second,
            "choices": choices,
            "values": values,
            # Select fields pick options instead of typing them.
            "pick": bool(choices)
            and (op in ("eq", "neq") or (kind == "list" and op not in ("btw", "nbtw"))),
            "error": errors.get(path, ""),
            "incomplete": filters.incomplete(item),
        }

    root = walk(tree, "", 0)
    return {"builder": root, "filter_fields": options}


def _hidden_ref(meta, ref) -> bool:
    """Whether a filter names a field of the table that is hidden from this user."""
    ref = str(ref or "")
    return bool(ref) and any(
        ref in (f.id, f.title) for f in meta.all_fields if f not in meta.fields
    )


def _hidden_condition(path: str, item: dict, errors: dict) -> dict:
    return {
        "kind": "condition",
        "path": path,
        "field": "",
        "field_missing": True,
        "field_label": "a field hidden from you",
        "uidt": "",
        "op": "",
        "ops": [],
        "arity": "none",
        "is_between": False,
        "value": "",
        "value1": "",
        "value2": "",
        "choices": [],
        "values": [],
        "pick": False,
        "error": "",
        "incomplete": False,
        "hidden": True,
    }


def builder_context(view, meta, tree=None, errors=None, saved=False) -> dict:
    """The builder for `tree` (default: the view's saved filter); the badge counts what is
    saved on the view, not what is being edited."""
    try:
        saved_tree = filters.where_to_tree(view.where, meta.resolve)
    except DomainError as exc:
        saved_tree, errors = filters.empty_tree(), {"root": exc.message}
    tree = saved_tree if tree is None else tree
    return {
        **_builder_tree(tree, meta, errors or {}),
        "filter_count": filters.count_conditions(saved_tree),
        "filter_errors": bool(errors),
        "filter_saved": saved,
        "filter_pending": filters.count_conditions(tree)
        - filters.count_conditions(filters.complete_part(tree)),
    }


def apply_action(tree: dict, action: str, meta) -> dict:
    """`add-condition:<path>`, `add-group:<path>`, `remove:<path>` on a posted tree."""
    verb, _, path = action.partition(":")
    if not verb:
        return tree
    parts = [] if path in ("", "root") else path.split(".")
    try:
        indexes = [int(p) for p in parts]
    except ValueError:
        raise InvalidInput(f"Unknown builder action '{action}'.")
    fields = [f for f in shown_fields(meta) if filters.filterable(f)]

    def new_condition() -> dict:
        preferred = meta.pv if meta.pv in fields else None
        field = preferred or next((f for f in fields if not f.is_pk), None)
        field = field or (fields[0] if fields else None)
        ops = filters.operators_for(field) if field else ["eq"]
        op = "like" if "like" in ops else ops[0]
        return {
            "type": "condition",
            "field": field.id if field else "",
            "op": op,
            "value": None if filters.arity(op) == "none" else "",
        }

    def node_at(idx: list[int]) -> dict:
        node = tree
        for i in idx:
            children = node.get("children") or []
            if not 0 <= i < len(children):
                raise InvalidInput(f"No filter at '{path}'.")
            node = children[i]
        return node

    if verb == "remove":
        if not indexes:
            return filters.empty_tree()
        parent = node_at(indexes[:-1])
        children = parent.get("children") or []
        if 0 <= indexes[-1] < len(children):
            children.pop(indexes[-1])
        return tree
    target = node_at(indexes)
    if target.get("type") != "group":
        raise InvalidInput("Conditions are added to groups.")
    target.setdefault("children", [])
    if verb == "add-condition":
        target["children"].append(new_condition())
    elif verb == "add-group":
        group = filters.empty_tree()
        group["children"].append(new_condition())
        target["children"].append(group)
    else:
        raise InvalidInput(f"Unknown builder action '{action}'.")
    return tree
