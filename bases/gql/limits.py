"""Depth and cost limits, checked on the parsed query before anything runs.

Depth counts nested fields (introspection's `__schema` / `__type` subtrees are not counted:
they read no data). Cost counts one per field, and a field with a `limit` argument (a list
page, a nested link list) multiplies its sub-selection's cost by that limit (by its default
when not given): a query that could read a million cells is refused before it reads one.
"""

from __future__ import annotations

from django.conf import settings
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    VariableNode,
    get_named_type,
)

from bases.gql.loading import NESTED_LIMIT

ROOT_LIMIT = 25  # a list page's default size (bases/query/params.py)


class LimitExceeded(GraphQLError):
    def __init__(self, message: str, code: str):
        super().__init__(message, extensions={"code": code})


def _limit(node: FieldNode, variables: dict, default: int) -> int:
    for arg in node.arguments or ():
        if arg.name.value != "limit":
            continue
        value = arg.value
        if isinstance(value, VariableNode):
            got = (variables or {}).get(value.name.value)
        else:
            got = getattr(value, "value", None)
        try:
            return max(int(got), 1)
        except (TypeError, ValueError):
            return default
    return default


def check(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict | None,
) -> None:
    """Raise LimitExceeded if the operation to run nests too deep or costs too much."""
    max_depth = settings.NOCO_GRAPHQL_MAX_DEPTH
    max_cost = settings.NOCO_GRAPHQL_MAX_COST
    fragments = {
        d.name.value: d
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    operations = [
        d for d in document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    operation = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name and o.name.value == operation_name)
        ),
        None,
    )
    if operation is None:
        return  # execution reports the unknown operation
    root = (
        schema.mutation_type
        if operation.operation.value == "mutation"
        else schema.query_type
    )

    def walk(selection_set, parent, depth: int, seen: frozenset) -> int:
        if depth > max_depth:
            raise LimitExceeded(
                f"The query nests deeper than {max_depth} levels.", "QUERY_TOO_DEEP"
            )
        cost = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                name = sel.name.value
                if name.startswith("__"):
                    continue
                cost += 1
                if sel.selection_set is None:
                    continue
                field = parent.fields.get(name) if parent is not None else None
                child = get_named_type(field.type) if field is not None else None
                many = field is not None and "limit" in field.args
                default = ROOT_LIMIT if parent is root else NESTED_LIMIT
                times = _limit(sel, variables, default) if many else 1
                cost += times * walk(sel.selection_set, child, depth + 1, seen)
            elif isinstance(sel, InlineFragmentNode):
                cost += walk(sel.selection_set, parent, depth, seen)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                if name in seen or name not in fragments:
                    continue
                cost += walk(
                    fragments[name].selection_set, parent, depth, seen | {name}
                )
            if cost > max_cost:
                raise LimitExceeded(
                    f"The query could read more than {max_cost} values (each list "
                    "multiplies its fields by its limit): ask for fewer fields, smaller "
                    "pages or fewer nested links.",
                    "QUERY_TOO_COSTLY",
                )
        return cost

    walk(operation.selection_set, root, 1, frozenset())
