"""Fields the platform keeps: CreatedTime, LastModifiedTime, CreatedBy, LastModifiedBy,
AutoNumber; and User (base members picked by hand).

The stamped types (`stamped_on`) are real columns the record services fill on every insert
(and update) in the write's own statement (records/stamps.py); clients never write them. An
AutoNumber is numbered by the database itself (an identity column on PostgreSQL, a trigger on
SQLite and MySQL). User-holding columns keep member ids as text (`"3,7"`) and read back as
NocoDB's collaborator objects (bases/user_cells.py). See docs/fields.md.
"""

from __future__ import annotations

import re

from bases import value_limits as limits
from bases.fieldtypes.base import FieldType
from bases.fieldtypes.columns import BIGINT, INTEGER, TEXT, TEXTUAL
from bases.fieldtypes.date import DateTime
from bases.fieldtypes.html import chip
from bases.fieldtypes.number import Number
from nocoplatform.errors import InvalidInput

USER_CHIP = "#e8eefc"


class CreatedTime(DateTime):
    uidt, label = "CreatedTime", "Created time"
    read_only = True
    fillable = False
    stamped_on = "insert"
    openapi = {"type": "string", "format": "date-time", "readOnly": True}

    def stamp(self, *, now, user_id):
        return now


class LastModifiedTime(CreatedTime):
    uidt, label = "LastModifiedTime", "Last modified time"
    stamped_on = "write"


def _member_tokens(value) -> list[str]:
    """Ids or emails from a request value: `3`, `"a@b.co, 7"`, `{"id": 3}`,
    `{"email": …}` or a list of those (NocoDB sends the objects it returned)."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    tokens: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = (
                item.get("id")
                if item.get("id") not in (None, "")
                else item.get("email")
            )
        if isinstance(item, bool) or item is None:
            raise InvalidInput("a user is given by id or email")
        if isinstance(item, int):
            tokens.append(str(item))
            continue
        if not isinstance(item, str):
            raise InvalidInput("a user is given by id or email")
        tokens += [t.strip() for t in re.split(r"[,;\n]", item) if t.strip()]
    return tokens


class _UserHolding(FieldType):
    """Base members' ids in a text column, comma-joined; shown as name chips."""

    column_types, default_column_type = TEXTUAL, TEXT
    holds_users = True
    display_text = False
    searchable = False
    icon = "☺"
    column_width = 170

    def show(self, field, value, file_url=None) -> str:
        people = value if isinstance(value, list) else [value]
        out = []
        for person in people:
            if isinstance(person, dict):
                name = (
                    person.get("display_name")
                    or person.get("email")
                    or person.get("id")
                )
                out.append(chip(name, USER_CHIP))
            elif person not in (None, ""):
                out += [chip(p, USER_CHIP) for p in str(person).split(",") if p]
        return "".join(out)

    def stacks_cards(self, field) -> bool:
        return not self.multiple or not (field.options or {}).get("is_multi")

    def stack_key(self, field, value) -> str:
        from bases.user_cells import stored

        key = stored(value)
        return "" if key in (None, "", "None") else str(key)

    def stack_titles(self, field, keys: list[str]) -> dict[str, str]:
        from bases.user_cells import names

        return names(keys)

    def edit_text(self, field, value) -> str:
        people = value if isinstance(value, list) else [value]
        texts = []
        for person in people:
            if isinstance(person, dict):
                texts.append(str(person.get("email") or person.get("id")))
            elif person not in (None, ""):
                texts.append(str(person))
        return ",".join(texts)  # what the grid's picker splits


_PERSON = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": "string"},
        "display_name": {"type": "string"},
    },
}


class CreatedBy(_UserHolding):
    uidt, label = "CreatedBy", "Created by"
    read_only = True
    fillable = False
    stamped_on = "insert"
    openapi = {**_PERSON, "readOnly": True}

    def stamp(self, *, now, user_id):
        return user_id

    def check_column(self, field, *, builtin: bool, new: bool) -> None:
        if not new and not builtin:
            raise InvalidInput(
                f"An existing column of an external database cannot become {self.label}: "
                "who wrote its rows is not known (they may have been written outside this "
                f"platform). Add a new {self.label} field instead: it is kept from now on.",
                code="FIELD_TYPE_NOT_SUPPORTED",
            )


class LastModifiedBy(CreatedBy):
    uidt, label = "LastModifiedBy", "Last modified by"
    stamped_on = "write"


class User(_UserHolding):
    uidt, label = "User", "User"
    fillable = False  # a public form's visitors do not know the base's members
    multiple = True
    openapi = {
        "type": "array",
        "items": _PERSON,
        "description": "base members; write ids or emails",
    }

    def clean_options(self, options: dict, data: dict) -> dict:
        multi = data.get("is_multi", options.get("is_multi", False))
        if isinstance(data.get("meta"), dict) and "is_multi" in data["meta"]:
            multi = data["meta"]["is_multi"]
        return {**options, "is_multi": bool(multi)}

    def parse(self, value, options):
        """Syntax only (ids and emails, comma-joined); who is a member is checked by
        value_parser, which knows the field's base."""
        tokens = _member_tokens(value)
        return limits.refuse_nul(",".join(tokens)) if tokens else None

    def value_parser(self, field, *, db: str):
        members: dict | None = None

        def parse(value, options):
            nonlocal members
            tokens = _member_tokens(value)
            if not tokens:
                return None
            if members is None:
                from bases.user_cells import member_keys

                members = member_keys(field)
            ids: list[str] = []
            for token in tokens:
                uid = members.get(token.lower())
                if uid is None:
                    raise InvalidInput(f"'{token}' is not a member of this base")
                if uid not in ids:
                    ids.append(uid)
            if len(ids) > 1 and not options.get("is_multi"):
                raise InvalidInput(
                    "this field holds one user (make it hold several in its settings)"
                )
            return ",".join(ids)

        return parse

    def from_typed(self, text, decimal_sep):
        return text

    def posted_text(self, data, key: str) -> str | None:
        # The expanded row's member checkboxes (or its one-member select).
        return ",".join(v for v in data.getlist(key) if v)


class AutoNumber(Number):
    uidt, label = "AutoNumber", "Auto number"
    column_types, default_column_type = (INTEGER, BIGINT), BIGINT
    read_only = True
    fillable = False
    icon = "#"
    openapi = {"type": "integer", "readOnly": True}

    def aggregates(self, field) -> list[str]:
        return ["min", "max", "empty", "filled"]  # a sum of counters means nothing

    def check_column(self, field, *, builtin: bool, new: bool) -> None:
        if not new and not field.is_auto:
            raise InvalidInput(
                f"'{field.title}' is not numbered by its database: only an identity, "
                "serial or AUTO_INCREMENT column can be an AutoNumber (or add a new "
                "AutoNumber field: the platform creates a numbered column).",
                code="FIELD_TYPE_NOT_SUPPORTED",
            )

    def column_ddl(self, dialect, table_name, column, pk):
        statements = dialect.auto_number_ddl(table_name, column, pk)
        if statements is None:
            raise InvalidInput(
                f"An AutoNumber column cannot be added on {dialect.vendor}.",
                code="FIELD_TYPE_NOT_SUPPORTED",
            )
        return statements

    def drop_ddl(self, dialect, table_name, column):
        return dialect.auto_number_drop(table_name, column)
