"""The checkbox: true or false (NULL counts as unticked)."""

from __future__ import annotations

from bases.fieldtypes.base import FieldType
from bases.fieldtypes.columns import BOOLEAN
from nocoplatform.errors import InvalidInput

# What a user may type or paste into a checkbox cell to tick it.
TICKS = {"✓": "true", "x": "true", "☑": "true"}


class Checkbox(FieldType):
    uidt, label, column_types, default_column_type = (
        "Checkbox",
        "Checkbox",
        (BOOLEAN,),
        BOOLEAN,
    )
    icon = "☑"
    column_width = 90
    is_boolean = True
    searchable = False
    openapi = {"type": "boolean"}
    _true = {"true", "1", "yes", "on", "checked"}
    _false = {"false", "0", "no", "off", "", "unchecked"}

    def parse(self, value, options):
        if value is None or isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self._true:
            return True
        if text in self._false:
            return False
        raise InvalidInput(f"'{value}' is not true or false")

    def aggregates(self, field) -> list[str]:
        return ["empty", "filled"] if field.column_name else []

    def edit_text(self, field, value) -> str:
        return "" if value is None else "true" if value else "false"

    def posted_text(self, data, key: str) -> str | None:
        return "true" if data.get(key) else "false"  # an unticked box posts nothing

    def form_text(self, field, value) -> str:
        return self.edit_text(field, value) or "false"

    def display_html(self, field, value, file_url=None) -> str:
        # An empty checkbox shows as unchecked, ready for its click.
        return (
            '<span class="cb on" aria-label="checked">✓</span>'
            if value
            else '<span class="cb" aria-label="unchecked"></span>'
        )

    def typed_value(self, field, text, decimal_sep: str = ".", date_order: str = "dmy"):
        if text is None or not isinstance(text, str):
            return text
        t = text.strip().lower()
        return TICKS.get(t, t or "false")
