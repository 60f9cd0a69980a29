"""A table's metadata as one actor may see it: the fields, the primary key, record ids.

The metadata cache (bases/metacache.py) holds one unrestricted TableMeta per table and version;
`TableMeta.of(table, actor=...)` derives the actor's view (memoised per role), applying table
overrides and field rules from permissions.checks.
"""

from __future__ import annotations

from bases import fieldtypes as ft
from bases.fieldtypes import field_type_for
from bases.models import Field, Table
from bases.query.params import FieldResolver
from nocoplatform.errors import Forbidden, InvalidInput, NotFound
from permissions.checks import Actor, field_hidden, field_read_only, role_of

PK_SEPARATOR = "___"  # NocoDB's separator for composite primary keys in record ids


class TableMeta:
    """A table's fields, loaded once per request.

    The metadata cache holds one unrestricted TableMeta per table. Records functions work on an
    actor's view of it, `TableMeta.of(table, actor=...)`: `fields` (and `resolve`, `columns`,
    `pv`) hold only the fields that actor may see, `read_only` the ids of fields they may not
    write, and `internal` resolves every field for the query layer's own needs (join keys).
    """

    def __init__(
        self,
        table: Table,
        fields: list[Field],
        *,
        all_fields: list[Field] | None = None,
        read_only: frozenset = frozenset(),
    ):
        self.table = table
        self.fields = fields
        self.all_fields = fields if all_fields is None else all_fields
        self.restricted = all_fields is not None
        self.read_only = read_only
        self.columns = [f for f in self.fields if f.column_name]
        # Fields whose value the database computes when a row is read (formulas, lookups…).
        self.computed = [f for f in self.fields if field_type_for(f).computed]
        self.pk = [f for f in self.all_fields if f.column_name and f.is_pk]
        self.resolve = FieldResolver(self.fields)
        self.internal = (
            FieldResolver(self.all_fields) if self.restricted else self.resolve
        )
        self.pv = next(
            (f for f in self.columns if field_type_for(f).display_text and not f.is_pk),
            None,
        )
        self._rules_loaded = False
        self._by_role: dict = {}
        self._links = [
            f
            for f in self.all_fields
            if f.related_table_id and f.related_table is not None
        ]

    @classmethod
    def of(cls, table: Table, *, actor: Actor) -> TableMeta:
        """The table's metadata as `actor` may see it (NotFound if the table is not theirs).

        `actor=permissions.checks.SYSTEM` gives every field (scripts, schema checks).
        """
        return cls.unrestricted(table).for_actor(actor)

    @classmethod
    def unrestricted(cls, table: Table) -> TableMeta:
        cached = getattr(table, "_table_meta", None)
        if cached is not None:
            return cached
        from bases import metacache

        fresh = metacache.get_table(table.pk)
        if fresh is not None and fresh.source.meta_version == table.source.meta_version:
            return fresh._table_meta
        # A stale table object (its version moved): fresh fields, not remembered on the object.
        return cls(
            table, list(table.fields.select_related("related_table__source").all())
        )

    def _load_rules(self) -> None:
        """Field rules, one query per metadata version (they are cached with this object)."""
        if self._rules_loaded:
            return
        from permissions.models import FieldRule

        rules = {
            r[0]: (r[1], r[2])
            for r in FieldRule.objects.filter(
                field__table_id=self.table.pk
            ).values_list("field_id", "hidden_below", "read_only_below")
        }
        for f in self.all_fields:
            f._noco_rule = rules.get(f.id, ("", ""))
        self._rules_loaded = True

    def for_actor(self, actor: Actor) -> TableMeta:
        if actor.system:
            return self
        role = role_of(actor, self.table)
        if role is None:
            raise NotFound("Table not found.", code="TABLE_NOT_FOUND")
        # What the actor sees depends on their role here and on which linked tables exist for
        # them; the result is memoised on this (cached) object per combination.
        key = (
            role,
            tuple(role_of(actor, f.related_table) is None for f in self._links),
            actor.fields,
        )
        meta = self._by_role.get(key)
        if meta is None:
            self._load_rules()
            hidden = {
                f.id for f in self.all_fields if field_hidden(f, role) and not f.is_pk
            }
            # A link into a table the actor cannot see is hidden with it.
            hidden |= {
                f.id for f, gone in zip(self._links, key[1], strict=True) if gone
            }
            # A public link's actor sees only the fields it shows (its key stays for ids).
            if actor.fields is not None:
                hidden |= {
                    f.id
                    for f in self.all_fields
                    if f.id not in actor.fields and not f.is_pk
                }
            meta = TableMeta(
                self.table,
                [f for f in self.all_fields if f.id not in hidden],
                all_fields=self.all_fields,
                read_only=frozenset(
                    f.id for f in self.all_fields if field_read_only(f, role)
                ),
            )
            self._by_role[key] = meta
        return meta

    def require_pk(self) -> list[Field]:
        if not self.pk:
            raise Forbidden(
                f"'{self.table.title}' has no primary key: {self.table.read_only_reason or 'read-only'}.",
                code="TABLE_READ_ONLY",
            )
        return self.pk

    def record_id(self, row_pk_values: list) -> str | int:
        if len(row_pk_values) == 1:
            return row_pk_values[0]
        return PK_SEPARATOR.join(str(v) for v in row_pk_values)

    def parse_record_id(self, record_id) -> list:
        pk = self.require_pk()
        parts = [record_id] if len(pk) == 1 else str(record_id).split(PK_SEPARATOR)
        if len(parts) != len(pk):
            raise InvalidInput(
                f"A record id of '{self.table.title}' has {len(pk)} parts joined by '{PK_SEPARATOR}'.",
                code="INVALID_RECORD_ID",
            )
        out = []
        for f, part in zip(pk, parts, strict=True):
            try:
                value = ft.get(f.uidt).stored_as(f).parse(part, f.options)
            except InvalidInput:
                raise NotFound("Record not found.", code="RECORD_NOT_FOUND")
            out.append(value)
        return out
