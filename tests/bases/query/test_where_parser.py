"""The `where` parser and renderer (bases.query.where), without any database."""

from __future__ import annotations

import time

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
    WhereNode,
    parse_where,
    render_where,
)
from nocoplatform.errors import InvalidInput

C = Condition


def error_code(text: str) -> str:
    with pytest.raises(InvalidInput) as exc:
        parse_where(text)
    return exc.value.code


# ---- explicit cases


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_empty_is_none(text):
    assert parse_where(text) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(a,eq,1)", C("a", "eq", "1")),
        ("( a , eq ,1)", C("a", "eq", "1")),
        ("(First Name,eq,x)", C("First Name", "eq", "x")),
        ("(a,EQ,1)", C("a", "eq", "1")),
        ("(a,not,1)", C("a", "neq", "1")),
        ("(a,gte,1)", C("a", "ge", "1")),
        ("(a,lte,1)", C("a", "le", "1")),
        ("(a,isblank)", C("a", "blank")),
        ("(a,is_not_blank)", C("a", "notblank")),
        ("(d,iswithin,pastWeek)", C("d", "isWithin", "pastWeek")),
        # values keep what was typed, commas included
        ("(name,eq,Smith, John)", C("name", "eq", "Smith, John")),
        ("(name,eq, padded )", C("name", "eq", " padded ")),
        ("(name,eq,)", C("name", "eq", "")),
        ("(name,like,%x%)", C("name", "like", "%x%")),
        ("(name,like,snake_case)", C("name", "like", "snake_case")),
        ("(name,eq,100%)", C("name", "eq", "100%")),
        ("(d,eq,daysAgo,3)", C("d", "eq", "daysAgo,3")),
        ("(d,eq,exactDate,2024-01-02)", C("d", "eq", "exactDate,2024-01-02")),
        # a ')' closes only before the end, '~' or ')'
        ("(name,eq,a)b)", C("name", "eq", "a)b")),
        ('(name,eq,"f(x)")', C("name", "eq", "f(x)")),
        ("(name,eq,(a)b)", C("name", "eq", "(a)b")),
        # ')' then '(' does not close either: this is ONE condition
        ("(a,eq,1)(b,eq,2)", C("a", "eq", "1)(b,eq,2")),
        # quotes
        ('(name,eq,"a),~b")', C("name", "eq", "a),~b")),
        ('(name,eq,"say \\"hi\\"")', C("name", "eq", 'say "hi"')),
        ('(name,eq,"back\\\\slash")', C("name", "eq", "back\\slash")),
        ('(name,eq,"a\\nb")', C("name", "eq", "a\\nb")),
        ('(name,eq, "x" )', C("name", "eq", "x")),
        ('(name,eq,"")', C("name", "eq", "")),
        ('(name,eq,a"b)', C("name", "eq", 'a"b')),
        ('("odd, name)",eq,1)', C("odd, name)", "eq", "1")),
        # unicode
        ("(Prénom,eq,Zoë)", C("Prénom", "eq", "Zoë")),
        ("(名前,like,%東京%)", C("名前", "like", "%東京%")),
        ("(emoji,eq,🙂)", C("emoji", "eq", "🙂")),
        # lists
        ("(n,in,1,2,3)", C("n", "in", ("1", "2", "3"))),
        ("(n,in, 1 , 2 )", C("n", "in", ("1", "2"))),
        ('(n,in,"a,b", c ," d ")', C("n", "in", ("a,b", "c", " d "))),
        ("(n,in,a)b,c)", C("n", "in", ("a)b", "c"))),
        ("(n,btw,1,10)", C("n", "btw", ("1", "10"))),
        ("(n,nbtw,1,10)", C("n", "nbtw", ("1", "10"))),
        ("(t,allof,a,b)", C("t", "allof", ("a", "b"))),
        ("(t,anyof,a)", C("t", "anyof", ("a",))),
        ("(t,in,)", C("t", "in", ("",))),
        # no-value operators (an empty value is tolerated)
        ("(a,null)", C("a", "null")),
        ("(a,notnull,)", C("a", "notnull")),
        ("(a,checked)", C("a", "checked")),
    ],
)
def test_conditions(text, expected):
    assert parse_where(text) == expected


A, B, D = C("a", "eq", "1"), C("b", "eq", "2"), C("c", "like", "%x%")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(a,eq,1)~and(b,eq,2)", And((A, B))),
        ("(a,eq,1)~or(b,eq,2)~or(c,like,%x%)", Or((A, B, D))),
        ("(a,eq,1) ~and (b,eq,2)", And((A, B))),
        ("(a,eq,1)~AND(b,eq,2)", And((A, B))),
        ("~not(a,eq,1)", Not(A)),
        ("~not~not(a,eq,1)", Not(Not(A))),
        ("((a,eq,1))", A),
        ("((a,eq,1)~or(b,eq,2))~and~not(c,like,%x%)", And((Or((A, B)), Not(D)))),
        ("(a,eq,1)~and((b,eq,2)~or(c,like,%x%))", And((A, Or((B, D))))),
        ("((a,eq,1)~and(b,eq,2))~and(c,like,%x%)", And((And((A, B)), D))),
        ("~not((a,eq,1)~or(b,eq,2))", Not(Or((A, B)))),
        ("(~not(a,eq,1))", Not(A)),
        ("(((a,eq,1)))", A),
    ],
)
def test_logic(text, expected):
    assert parse_where(text) == expected


# ---- errors


@pytest.mark.parametrize(
    "text",
    [
        "a,eq,1",
        "(a,eq,1",
        "((a,eq,1)",
        "(a,eq,1))",
        "(a,eq,1)~and",
        "(a,eq,1)~xor(b,eq,1)",
        "(a,blank) (b,eq,2)",
        "(a,eq,1)~not(b,eq,2)",
        "(a,eq,1)~and(b,eq,2)~or(c,eq,3)",
        "~and(a,eq,1)",
        "()",
        "(a)",
        "(a,)",
        "(,eq,1)",
        '(a,eq,"unterminated)',
        '(a,eq,"x"y)',
        '(a,in,"x"y)',
        '("a"b,eq,1)',
        "(a,eq,1)x",
        "(a,blank)x)",
        "~not",
        # the first ')' before another ')' closes: "f(x)" needs quotes
        "(name,eq,f(x))",
    ],
)
def test_syntax_errors(text):
    assert error_code(text) == "WHERE_SYNTAX"


def test_syntax_error_says_where():
    with pytest.raises(InvalidInput) as exc:
        parse_where("(a,eq,1)~and((b,eq,2)")
    assert exc.value.code == "WHERE_SYNTAX"
    assert "position 13" in exc.value.message  # the '(' of the unclosed group
    assert exc.value.details == {"position": 13}
    with pytest.raises(InvalidInput) as exc:
        parse_where("(a)")
    assert "missing operator" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        parse_where("(a,eq,1))")
    assert "unbalanced" in exc.value.message and "position 9" in exc.value.message


def test_unknown_operator_lists_valid_ones():
    with pytest.raises(InvalidInput) as exc:
        parse_where("(a,equals,1)")
    assert exc.value.code == "UNKNOWN_OPERATOR"
    assert "equals" in exc.value.message
    for op in ("eq", "isWithin", "nanyof", "notblank"):
        assert op in exc.value.message


@pytest.mark.parametrize(
    "text",
    ["(a,eq)", "(a,btw,1)", "(a,btw,1,2,3)", "(a,nbtw,1)", "(a,blank,x)", "(a,in)"],
)
def test_arity_errors(text):
    assert error_code(text) == "INVALID_FILTER_VALUE"


def test_condition_cap_is_fast():
    text = "~and".join(f"(f{i},eq,{i})" for i in range(10_000))
    start = time.perf_counter()
    assert error_code(text) == "TOO_MANY_CONDITIONS"
    assert time.perf_counter() - start < 0.1
    ok = "~and".join(f"(f{i},eq,{i})" for i in range(200))
    assert len(parse_where(ok).children) == 200


@pytest.mark.parametrize(
    "text",
    [
        "(" * 10_000 + "(a,eq,1)" + ")" * 10_000,
        "~not" * 10_000 + "(a,eq,1)",
        "(" * 100_000,
    ],
)
def test_deep_nesting_is_refused_without_recursion_error(text):
    start = time.perf_counter()
    assert error_code(text) == "TOO_MANY_CONDITIONS"
    assert time.perf_counter() - start < 0.1


def test_depth_limit_is_twenty():
    assert parse_where("(" * 20 + "(a,eq,1)" + ")" * 20) == A
    assert error_code("(" * 21 + "(a,eq,1)" + ")" * 21) == "TOO_MANY_CONDITIONS"


def test_list_and_length_caps():
    assert error_code("(a,in," + ",".join(["1"] * 1001) + ")") == "TOO_MANY_CONDITIONS"
    assert len(parse_where("(a,in," + ",".join(["1"] * 1000) + ")").value) == 1000
    assert error_code("(a,eq," + "x" * 100_001 + ")") == "TOO_MANY_CONDITIONS"


# ---- renderer


@pytest.mark.parametrize(
    "node, text",
    [
        (A, "(a,eq,1)"),
        (And((A, Or((B, D)))), "(a,eq,1)~and((b,eq,2)~or(c,like,%x%))"),
        (Not(And((A, B))), "~not((a,eq,1)~and(b,eq,2))"),
        (C("n", "eq", "a),b"), "(n,eq,a),b)"),
        (C("n", "eq", "a)~b"), '(n,eq,"a)~b")'),
        (C("n", "eq", "a))"), '(n,eq,"a))")'),
        (C("n", "eq", 'x"y'), '(n,eq,x"y)'),
        (C("n", "eq", '"x'), '(n,eq,"\\"x")'),
        (C("n", "in", ("a,b", "c")), '(n,in,"a,b",c)'),
        (C("(n", "blank"), '("(n",blank)'),
    ],
)
def test_render(node, text):
    assert render_where(node) == text
    assert parse_where(text) == node


def test_render_none():
    assert render_where(None) == ""


# ---- properties

_fields = st.text(min_size=1, max_size=12)
_values = st.text(max_size=12)
_tricky = st.sampled_from(
    ["", " ", ",", ")", "(", ")~", "~and", '"', "\\", "),", "%", "_", "a)b", ") )", "é"]
)
_value = st.one_of(_values, _tricky, st.lists(_tricky, max_size=4).map("".join))


@st.composite
def conditions(draw):
    field = draw(st.one_of(_fields, _tricky.filter(bool)))
    op = draw(st.sampled_from(VALUE_OPS + LIST_OPS + NO_VALUE_OPS))
    if op in NO_VALUE_OPS:
        return C(field, op, None)
    if op in LIST_OPS:
        size = 2 if op in ("btw", "nbtw") else draw(st.integers(1, 4))
        items = draw(st.lists(_value, min_size=size, max_size=size))
        # raw list items are trimmed; the renderer quotes the ones that need it
        return C(field, op, tuple(items))
    return C(field, op, draw(_value))


def trees(leaves):
    return st.one_of(
        st.builds(Not, leaves),
        st.lists(leaves, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(leaves, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
    )


where_nodes = st.recursive(conditions(), trees, max_leaves=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where_nodes)
def test_render_then_parse_is_identity(node: WhereNode):
    text = render_where(node)
    assert parse_where(text) == node


_syntax_alphabet = st.sampled_from(
    list('(),~"\\ %_aé1')
    + ["~and", "~or", "~not", "eq", "in", "btw", "blank", "isWithin"]
)


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60), st.lists(_syntax_alphabet, max_size=40).map("".join)
    )
)
def test_parse_only_raises_invalid_input(text):
    try:
        node = parse_where(text)
    except InvalidInput as exc:
        assert exc.code in {
            "WHERE_SYNTAX",
            "UNKNOWN_OPERATOR",
            "INVALID_FILTER_VALUE",
            "TOO_MANY_CONDITIONS",
        }
        return
    # whatever parses renders back to something that parses the same
    assert parse_where(render_where(node)) == node
