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

`own` is how the statement reads the row's table: its quoted name (the default for a computed
field, so a correlated subquery can never bind a column to its own table by mistake) or the
alias of a derived table (the page's outer SELECT computes computed fields over `noco_page`,
for the page's rows only). A context made with `uses=set()` records the stored fields of the
own row an expression reads, so that derived table can select them.
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
    # When a set: the stored fields of the own row read so far (filled by `column`).
    uses: set | None = None
    # How deep computed fields nest inside one another in this expression.
    nesting: int = 0

    def column(self, field) -> Frag:
        """The value of `field` (a field of the table `own` reads) in this statement."""
        from bases.fieldtypes import field_type_for

        ftype = field_type_for(field)
        if ftype.computed:
            if self.nesting >= MAX_DEPTH or self.depth >= MAX_DEPTH:
                raise InvalidInput(
                    f"The field {field.title!r} nests computed fields more than "
                    f"{MAX_DEPTH} deep.",
                    code="COMPUTED_TOO_DEEP",
                )
            inner = ExprContext(
                self.dialect, self.own, self.depth, self.uses, self.nesting + 1
            )
            return ftype.sql(field, inner)
        if self.uses is not None:
            self.uses.add(field)
        name = self.dialect.quote(field.column_name)
        return Frag(f"{self.own}.{name}" if self.own else name)

    def subquery(self) -> tuple[str, ExprContext]:
        """A fresh quoted alias for a table read in a correlated subquery of this expression,
        and the context whose `column()` reads that table's fields through it."""
        alias = self.dialect.quote(f"noco_s{self.depth + 1}")
        return alias, ExprContext(self.dialect, alias, self.depth + 1)


def is_computed(field) -> bool:
    from bases.fieldtypes import field_type_for

    return field_type_for(field).computed


def own_name(dialect: Dialect, field) -> str:
    """The quoted name a statement `FROM <table>` (no alias) reads `field`'s table through."""
    return dialect.quote(field.table.table_name)


def field_sql(dialect: Dialect, field, own: str | None = None) -> Frag:
    """The SQL value of `field` read through `own` (see ExprContext). `own=None`: a stored
    column unqualified, a computed field qualified by its table's name (statements that read
    the table without an alias)."""
    if own is None:
        own = own_name(dialect, field) if is_computed(field) else ""
    return ExprContext(dialect, own).column(field)


def as_frag(column) -> Frag:
    """A column given as SQL text (no parameters) or as a Frag, as a Frag."""
    return column if isinstance(column, Frag) else Frag(column)
