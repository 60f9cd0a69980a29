"""The filter builder's tree <-> the where dialect: one conversion, exact both ways."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bases.query.where import (
    LIST_OPS,
    NO_VALUE_OPS,
    VALUE_OPS,
    And,
    Condition,
    Not,
    Or,
    parse_where,
    render_where,
)
from nocoplatform.errors import InvalidInput
from views import filters

# ---- examples


def test_nested_tree_to_where_and_back():
    tree = {
        "type": "group",
        "logic": "and",
        "not": False,
        "children": [
            {"type": "condition", "field": "Status", "op": "eq", "value": "Open"},
            {
                "type": "group",
                "logic": "or",
                "not": True,
                "children": [
                    {
                        "type": "condition",
                        "field": "Amount",
                        "op": "btw",
                        "value": ["1", "9"],
                    },
                    {
                        "type": "condition",
                        "field": "Name",
                        "op": "blank",
                        "value": None,
                    },
                ],
            },
        ],
    }
    text = filters.tree_to_where(tree)
    assert text == "(Status,eq,Open)~and~not((Amount,btw,1,9)~or(Name,blank))"
    assert filters.where_to_tree(text) == tree


def test_empty_tree_is_no_filter_and_blank_text_is_an_empty_tree():
    assert filters.tree_to_where(filters.empty_tree()) == ""
    assert filters.where_to_tree("  ") == filters.empty_tree()


def test_single_condition_root_and_negated_single_condition():
    assert filters.where_to_tree("(a,eq,1)")["children"] == [
        {"type": "condition", "field": "a", "op": "eq", "value": "1"}
    ]
    tree = filters.where_to_tree("~not(a,eq,1)")
    assert tree["not"] is False and tree["children"][0]["not"] is True
    assert filters.tree_to_where(tree) == "~not(a,eq,1)"


def test_values_with_commas_parentheses_and_quotes_survive():
    for value in ["Smith, John", "f(x)", '"quoted"', "a)~b", "  padded ", ""]:
        tree = {
            "type": "group",
            "logic": "and",
            "children": [
                {"type": "condition", "field": "Name, full", "op": "eq", "value": value}
            ],
        }
        node = parse_where(filters.tree_to_where(tree))
        assert node == Condition("Name, full", "eq", value)


def test_aliases_become_canonical_operators():
    tree = {
        "type": "group",
        "children": [{"type": "condition", "field": "a", "op": "GTE", "value": "3"}],
    }
    assert filters.tree_to_where(tree) == "(a,ge,3)"


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            {
                "type": "group",
                "children": [{"type": "condition", "field": "a", "op": "zz"}],
            },
            "Unknown operator",
        ),
        (
            {
                "type": "group",
                "children": [{"type": "condition", "field": "", "op": "eq"}],
            },
            "needs a field",
        ),
        ({"type": "group", "logic": "xor", "children": []}, "logic"),
        ({"type": "nope"}, "Unknown filter item"),
        (
            {
                "type": "group",
                "children": [
                    {"type": "condition", "field": "a", "op": "in", "value": 3}
                ],
            },
            "list",
        ),
    ],
)
def test_malformed_trees_are_clear_errors(bad, message):
    with pytest.raises(InvalidInput) as exc:
        filters.tree_to_where(bad)
    assert message in exc.value.message


def test_load_tree_refuses_non_json_and_non_group():
    with pytest.raises(InvalidInput):
        filters.load_tree("{nope")
    with pytest.raises(InvalidInput):
        filters.load_tree(json.dumps({"type": "condition"}))


def test_incomplete_conditions_are_kept_in_the_tree_but_not_saved():
    tree = {
        "type": "group",
        "children": [
            {"type": "condition", "field": "a", "op": "eq", "value": ""},
            {"type": "condition", "field": "b", "op": "blank", "value": None},
            {
                "type": "group",
                "children": [
                    {"type": "condition", "field": "c", "op": "btw", "value": ["1", ""]}
                ],
            },
        ],
    }
    assert filters.tree_to_where(filters.complete_part(tree)) == "(b,blank)"


# ---- properties

names = st.text(min_size=1, max_size=8).filter(lambda s: s.strip() == s and s)
values = st.text(max_size=8)


@st.composite
def conditions(draw):
    field = draw(names)
    op = draw(st.sampled_from(VALUE_OPS + LIST_OPS + NO_VALUE_OPS))
    if op in NO_VALUE_OPS:
        return Condition(field, op, None)
    if op in ("btw", "nbtw"):
        return Condition(field, op, (draw(values), draw(values)))
    if op in LIST_OPS:
        return Condition(
            field, op, tuple(draw(st.lists(values, min_size=1, max_size=3)))
        )
    return Condition(field, op, draw(values))


asts = st.recursive(
    conditions(),
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(And, st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(Or, st.lists(inner, min_size=2, max_size=3).map(tuple)),
    ),
    max_leaves=8,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(asts)
def test_ast_to_tree_and_back_is_identity(node):
    tree = filters.node_to_tree(node)
    assert filters.tree_to_node(json.loads(json.dumps(tree))) == node


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(asts)
def test_where_text_to_tree_and_back_is_identity(node):
    text = render_where(node)
    tree = filters.where_to_tree(text)
    again = filters.tree_to_where(tree)
    assert parse_where(again) == parse_where(text) == node


@st.composite
def trees(draw, depth=0):
    if depth >= 3 or draw(st.booleans()):
        node = draw(conditions())
        value = list(node.value) if isinstance(node.value, tuple) else node.value
        return {"type": "condition", "field": node.field, "op": node.op, "value": value}
    children = draw(st.lists(trees(depth=depth + 1), max_size=3))
    return {
        "type": "group",
        "logic": draw(st.sampled_from(["and", "or"])),
        "not": draw(st.booleans()),
        "children": children,
    }


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_any_builder_tree_reaches_a_fixed_point_through_where_text(tree):
    root = tree if tree["type"] == "group" else {"type": "group", "children": [tree]}
    text = filters.tree_to_where(root)
    normal = filters.normalize(root)
    assert filters.where_to_tree(text) == normal
    assert filters.tree_to_where(normal) == text
    assert filters.normalize(normal) == normal
