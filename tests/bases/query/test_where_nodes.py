"""Structural where nodes (KeysIn, After) compiled per dialect, without a database."""

from types import SimpleNamespace

import pytest

from bases.query.dialects import dialect_for
from bases.query.where import After, And, Condition, KeysIn, compile_where


def field(name, *, pk=False, nullable=True, column_type="integer"):
    return SimpleNamespace(
        title=name,
        column_name=name,
        is_pk=pk,
        is_nullable=nullable,
        column_type=column_type,
        uidt="Number",
    )


ID = field("id", pk=True, nullable=False)
NAME = field("name", column_type="text")


def resolve(name):
    return {"id": ID, "name": NAME}[name]


def test_keys_in_is_one_array_on_postgresql_and_a_list_elsewhere():
    node = KeysIn((ID,), ((1,), (2,)))
    assert compile_where(node, resolve=resolve, vendor="postgresql") == (
        '("id" = ANY(%s))',
        [[1, 2]],
    )
    assert compile_where(node, resolve=resolve, vendor="mysql") == (
        "(`id` IN (%s, %s))",
        [1, 2],
    )


def test_composite_keys_bind_each_value_in_key_order():
    other = field("part", pk=True, nullable=False)
    sql, params = compile_where(
        KeysIn((ID, other), ((1, 7), (2, 8))), resolve=resolve, vendor="sqlite"
    )
    assert sql == "((`id` = %s AND `part` = %s) OR (`id` = %s AND `part` = %s))"
    assert params == [1, 7, 2, 8]


@pytest.mark.parametrize("vendor", ["postgresql", "mysql", "sqlite"])
def test_nodes_combine_and_keep_parameters_in_text_order(vendor):
    node = And((Condition("name", "eq", "x"), After(((ID, False),), (5,))))
    sql, params = compile_where(node, resolve=resolve, vendor=vendor)
    assert sql.count("%s") == len(params)
    assert params[0] == "x" and params[-1] == 5


def test_dialect_for_refuses_an_unknown_vendor():
    with pytest.raises(ValueError):
        dialect_for("oracle")
