"""Links to another table's records (virtual: no column of their own)."""

from __future__ import annotations

from dataclasses import dataclass

from bases.fieldtypes.base import FieldType
from bases.fieldtypes.html import chip, markdown_text

LINK_COLOUR = "#e8ecf8"


@dataclass(frozen=True, slots=True)
class LinkedRecords:
    """A has-many / many-to-many cell as the grid shows it: how many records it links to,
    and the display values of the first few (bases/records.py `link_labels`)."""

    count: int
    labels: tuple = ()


def linked_display(linked: dict):
    """The display value of a belongs-to cell ({id, display value})."""
    values = list(linked.values())
    return values[1] if len(values) > 1 else values[0] if values else ""


class LinkToAnotherRecord(FieldType):
    uidt, label, virtual = "LinkToAnotherRecord", "Link to another record", True
    icon = "⇄"
    read_only = True  # changed through the links endpoints and the picker
    is_link = True
    options_ui = "link"
    searchable = False

    def filterable(self, field) -> bool:
        return False

    def groupable(self, field) -> bool:
        return False

    def sortable(self, field) -> bool:
        return False

    def aggregates(self, field) -> list[str]:
        return []

    def schema(self, field) -> dict:
        if field.options.get("relation") == "bt":
            schema = {
                "type": "object",
                "readOnly": True,
                "description": "the linked record's id and display value",
            }
        else:
            schema = {
                "type": "integer",
                "readOnly": True,
                "description": "number of linked records",
            }
        if field.is_pk and field.is_auto:
            schema["readOnly"] = True
        if field.description:
            schema["description"] = markdown_text(field.description)
        return schema

    def edit_text(self, field, value) -> str:
        if value is None:
            return ""
        if isinstance(value, dict):
            return str(linked_display(value))
        if isinstance(value, LinkedRecords):
            return str(value.count)
        return str(value)

    def show(self, field, value, file_url=None) -> str:
        if isinstance(value, dict):
            return chip(linked_display(value), LINK_COLOUR)
        if isinstance(value, LinkedRecords) and value.labels:
            chips = "".join(chip(label, LINK_COLOUR) for label in value.labels)
            more = value.count - len(value.labels)
            return chips + (
                f'<span class="muted small">+{more}</span>' if more > 0 else ""
            )
        if isinstance(value, LinkedRecords):
            value = value.count
        count = int(value or 0)
        if not count:
            return ""
        return chip(f"{count} linked", LINK_COLOUR)
