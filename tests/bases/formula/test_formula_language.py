"""The formula language: what it accepts, its result types, and the errors a person gets at save time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bases.formula import FieldSpec, FormulaError, FType, check, parse
from bases.formula.functions import FUNCTIONS

FIELDS = {
    "Budget": FieldSpec("Budget", FType.NUMBER),
    "Name": FieldSpec("Name", FType.TEXT),
    "Due": FieldSpec("Due", FType.DATE),
    "Done": FieldSpec("Done", FType.BOOLEAN),
    "Total": FieldSpec("Total", FType.NUMBER, formula="{Budget} * 1.2"),
    "Loop A": FieldSpec("Loop A", FType.NUMBER, formula="{Loop B} + 1"),
    "Loop B": FieldSpec("Loop B", FType.NUMBER, formula="{Loop A} * 2"),
    "Broken": FieldSpec("Broken", FType.NUMBER, formula="{Gone} + 1"),
}


@pytest.mark.parametrize(
    ("formula", "result"),
    [
        ("{Budget} * 1.2", FType.NUMBER),
        ("{Total} + 1", FType.NUMBER),
        ('{Name} & " " & {Budget}', FType.TEXT),
        ('IF({Budget} > 10, "big", {Budget})', FType.TEXT),
        ("IF({Done}, {Due}, BLANK())", FType.DATE),
        ('DATEADD({Due}, 3, "day")', FType.DATE),
        ('DATEADD({Due}, 3, "hours")', FType.DATETIME),
        ('DATETIME_DIFF({Due}, NOW(), "days")', FType.NUMBER),
        ("{Due} > TODAY()", FType.BOOLEAN),
        ('SWITCH({Name}, "a", 1, "b", 2)', FType.NUMBER),
        ("and({Done}, true)", FType.BOOLEAN),  # function names in any case
        ("TRUE", FType.BOOLEAN),
        ("  1  ", FType.NUMBER),
    ],
)
def test_result_types_are_inferred(formula, result):
    assert check(formula, FIELDS).type is result


def test_url_result_is_marked_for_display_and_refs_are_listed():
    typed = check('URL("https://x.test/" & {Name})', FIELDS)
    assert typed.display == "url" and typed.refs == {"Name"}
    assert check("{Total} + {Budget}", FIELDS).refs == {"Total", "Budget"}


def error(formula: str, title: str | None = None) -> FormulaError:
    with pytest.raises(FormulaError) as caught:
        check(formula, FIELDS, title=title)
    return caught.value


@pytest.mark.parametrize(
    ("formula", "code", "position", "words"),
    [
        ("{Budgte} + 1", "FORMULA_UNKNOWN_FIELD", 0, "Did you mean {Budget}"),
        ("1 + FOO(2)", "FORMULA_UNKNOWN_FUNCTION", 4, "Unknown function FOO()"),
        ("ROUN(2)", "FORMULA_UNKNOWN_FUNCTION", 0, "Did you mean ROUND()"),
        ("{Name} + 1", "FORMULA_TYPE", 7, "join text with &"),
        ("{Due} + 1", "FORMULA_TYPE", 0, "DATEADD"),
        ("{Due} - {Due}", "FORMULA_TYPE", 0, "DATETIME_DIFF"),
        ("ROUND({Name})", "FORMULA_TYPE", 6, "needs a number here, not text"),
        ('DATEADD({Budget}, 1, "day")', "FORMULA_TYPE", 8, "needs a date"),
        ('DATEADD("next week", 1, "day")', "FORMULA_TYPE", 8, "YYYY-MM-DD"),
        ('DATEADD({Due}, 1, "fortnight")', "FORMULA_ARGUMENTS", 18, '"day"'),
        ("DATEADD({Due}, 1, {Name})", "FORMULA_ARGUMENTS", 18, "in quotes"),
        ("ROUND(1, 2, 3)", "FORMULA_ARGUMENTS", 0, "1 to 2 arguments, not 3"),
        ("SQRT()", "FORMULA_ARGUMENTS", 0, "1 argument, not 0"),
        (
            'IF({Done}, 1, "x" > 2)',
            "FORMULA_TYPE",
            18,
            "Cannot compare text with a number",
        ),
        ("IF({Done}, 1, {Due})", "FORMULA_TYPE", 14, "a number in one case and a date"),
        ("{Budget} < BLANK()", "FORMULA_TYPE", 9, "only be compared with = or !="),
        ("{Loop A}", "FORMULA_CIRCULAR", 0, "{Loop A} → {Loop B} → {Loop A}"),
        (
            "{Broken} * 2",
            "FORMULA_INVALID_REFERENCE",
            0,
            "formula of field {Broken} is invalid",
        ),
        ("(1 + 2", "FORMULA_SYNTAX", 6, "Missing )"),
        ("1 +", "FORMULA_SYNTAX", 3, "ends too early"),
        ("1 2", "FORMULA_SYNTAX", 2, "operator or a comma missing"),
        ('"open', "FORMULA_SYNTAX", 0, "not closed"),
        ("{Name", "FORMULA_SYNTAX", 0, "add }"),
        ("{}", "FORMULA_SYNTAX", 0, "Empty field name"),
        ("1 # 2", "FORMULA_SYNTAX", 2, "Unexpected character '#'"),
        ("Budget * 2", "FORMULA_SYNTAX", 0, "{Budget}"),
        ("", "FORMULA_SYNTAX", 0, "empty"),
        ("1e999", "FORMULA_TYPE", 0, "too large"),
        (",", "FORMULA_SYNTAX", 0, "a value is missing"),
    ],
)
def test_errors_say_what_and_where(formula, code, position, words):
    caught = error(formula)
    assert caught.code == code
    assert caught.position == position
    assert words in caught.message
    assert caught.status == 400
    assert caught.as_dict()["details"] == {"position": position}


def test_a_formula_naming_its_own_field_is_circular():
    fields = {**FIELDS, "Self": FieldSpec("Self", FType.NUMBER, formula="{Self} + 1")}
    caught = pytest.raises(
        FormulaError, check, "{Self} + 1", fields, title="Self"
    ).value
    assert caught.code == "FORMULA_CIRCULAR"
    assert "{Self} → {Self}" in caught.message


def test_limits_stop_huge_or_deep_formulas():
    assert error("1" * 10_001).code == "FORMULA_TOO_LONG"
    assert error("(" * 200 + "1" + ")" * 200).code == "FORMULA_TOO_LONG"
    assert error("+".join(["1"] * 2_500)).code == "FORMULA_TOO_LONG"
    # Formulas expanding formulas double at each level: refused before they explode.
    fields = {"F0": FieldSpec("F0", FType.NUMBER)}
    for i in range(1, 20):
        fields[f"F{i}"] = FieldSpec(
            f"F{i}", FType.NUMBER, formula=f"{{F{i - 1}}} + {{F{i - 1}}}"
        )
    assert (
        pytest.raises(FormulaError, check, "{F19}", fields).value.code
        == "FORMULA_TOO_LONG"
    )


def test_escapes_in_strings_and_field_names():
    tree = parse(r'"say \"hi\"\n" & {A \} b}')
    assert tree.left.value == 'say "hi"\n'
    assert tree.right.title == "A } b"


def test_every_function_has_a_compiler_on_every_database():
    from bases.query.formula.dialects import COMPILERS

    for compiler in COMPILERS.values():
        for name in FUNCTIONS:
            if name in ("TRUE", "FALSE"):
                continue
            assert hasattr(compiler, f"fn_{name.lower()}"), (compiler.__name__, name)


_pieces = st.sampled_from(
    [
        "{Budget}",
        "{Name}",
        "{Due}",
        "{Done}",
        "1",
        "2.5",
        '"x"',
        "(",
        ")",
        ",",
        "+",
        "-",
        "*",
        "/",
        "&",
        "=",
        "<",
        ">=",
        "!=",
        "&&",
        "||",
        "IF(",
        "ROUND(",
        "DATEADD(",
        '"day"',
        "CONCAT(",
        "SWITCH(",
        "BLANK()",
        "NOW()",
        "{",
        "}",
        '"',
        "\\",
        " ",
        "TRUE",
        "é",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_pieces, max_size=30).map("".join))
def test_any_text_gives_a_typed_formula_or_a_formula_error(text):
    try:
        typed = check(text, FIELDS)
    except FormulaError as caught:
        assert caught.code.startswith(("FORMULA", "INVALID_FORMULA"))
        assert caught.position is None or 0 <= caught.position <= len(text)
    else:
        assert typed.type in FType
