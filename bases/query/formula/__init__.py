"""A checked formula (bases.formula) as one SQL expression of a database's dialect.

The expression is computed by the database for a whole page of rows (select list, where, order by,
group by, aggregates), never in Python per row. Literals are bound parameters; field names go
through the caller's `column_sql` (the dialect's quoting). Functions that can fail on a row's value
(square root of a negative, division by zero, overflowing powers) answer NULL instead, so one row
cannot make a whole page fail.
"""

from bases.query.formula.compiler import Frag, compile_formula

__all__ = ["Frag", "compile_formula"]
