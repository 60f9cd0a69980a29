"""The SQL value of any field in a statement over its table: a stored column, or the expression
of a computed field (formula, lookup, rollup, count…), so every statement — select list, where,
order by, keyset cursor, group by, footer aggregates — names a field one way.

    field_sql(dialect, field, own)            -> Frag
    ExprContext(dialect, own).column(field)   -> Frag   (what a computed type's sql() calls)

A computed field type (`FieldType.computed`) returns its expression from `sql(field, ctx)`:
`ctx.column(other)` gives the value of another field of the same row (stored or computed, so
formulas may use lookups and lookups may look up formulas), `ctx.subquery()` a fresh alias and
the context of a correlated subquery over another table (a lookup, a rollup). Expressions carry
their bound parameters (Frag): callers splice `frag.sql` into the statement and its `frag.params`
into the parameters at the same place. Values are never written into SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass

from bases.query.dialects import Dialect
from bases.query.formula.compiler import Frag
from nocoplatform.errors import InvalidInput

# Computed fields nest (a lookup of a rollup of a formula…): deeper than this is refused when the
# field is saved, and again here so a bad definition can never recurse without end.
MAX_DEPTH = 8


@dataclass(frozen=True)
class ExprContext:
    dialect: Dialect
    # The quoted table name or alias the row's columns are read through ("" = unqualified).
    own: str = ""
    depth: int = 0

    def column(self, field) -> Frag:
        """The value of `field` (a field of the table `own` reads) in this statement."""
        from bases.fieldtypes import field_type_for

        ftype = field_type_for(field)
        if ftype.computed:
            if self.depth >= MAX_DEPTH:
                raise InvalidInput(
                    f"The field {field.title!r} nests computed fields more than "
                    f"{MAX_DEPTH} deep.",
                    code="COMPUTED_TOO_DEEP",
                )
            return ftype.sql(field, self)
        name = self.dialect.quote(field.column_name)
        return Frag(f"{self.own}.{name}" if self.own else name)

    def subquery(self) -> tuple[str, ExprContext]:
        """A fresh quoted alias for a table read in a correlated subquery of this expression,
        and the context whose `column()` reads that table's fields through it."""
        alias = self.dialect.quote(f"noco_s{self.depth + 1}")
        return alias, ExprContext(self.dialect, alias, self.depth + 1)


def field_sql(dialect: Dialect, field, own: str = "") -> Frag:
    """The SQL value of `field` read through `own` (see ExprContext)."""
    return ExprContext(dialect, own).column(field)
