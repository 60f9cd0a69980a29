"""The formula language of computed fields: text → syntax tree → typed tree.

`{Budget} * 1.2`, `IF({Status} = "Done", "✓", "")`, `DATEADD({Due}, 7, "day")`. This package knows
the language only (tokens, grammar, functions and their types); turning a typed tree into SQL for
one database is `bases.query.formula`'s job, so a formula is always computed by the database, for
a whole page of rows at once, never in Python per row.
"""

from bases.formula.checker import FieldSpec, TypedFormula, check
from bases.formula.errors import FormulaError
from bases.formula.parser import parse
from bases.formula.types import FType

__all__ = ["FType", "FieldSpec", "FormulaError", "TypedFormula", "check", "parse"]
