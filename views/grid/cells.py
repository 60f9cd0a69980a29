"""Grid cells: the <td> and <tr> of a grid window, built from what each field type renders.

How a value shows and which text edits it belong to its field type (bases/fieldtypes:
`display_html`, `edit_text`, `typed_value`). The markup is built in Python rather than with
one template include per cell: a 100-row window of 25 columns is 2,500 cells, and the grid's
speed target (first page under 60 ms of server time) leaves no room for 2,500 includes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe

from bases.fieldtypes import field_type_for
from bases.fieldtypes.html import escape


@dataclass(slots=True)
class GridCell:
    fid: str
    html: SafeString
    raw: str
    css: str


def cell_td(c: GridCell) -> str:
    """A cell's <td>. The inner div clips tall content to the row height: the virtual scroll
    relies on every row being exactly the view's row height."""
    return (
        f'<td class="cell{c.css}" data-f="{c.fid}" data-v="{escape(c.raw)}">'
        f'<div class="c">{c.html}</div></td>'
    )


@dataclass(slots=True)
class GridRow:
    id: object
    n: int
    cells: list[GridCell]
    comments: int = 0

    @property
    def html(self) -> SafeString:
        """The row's <tr>: views/partials/grid_row.html prints this (see the contract there).

        Built here, not with template tags: 100 rows x 25 cells through the template engine
        cost ~100 ms, this ~5 ms.
        """
        parts = [
            f'<tr class="grid-row" data-id="{"" if self.id is None else escape(self.id)}"'
            f' data-n="{self.n}" aria-rowindex="{self.n + 1}">'
            f'<td class="rownum"><span class="n">{self.n}</span>'
        ]
        if self.id is not None:
            parts.append(
                '<button type="button" class="expand" tabindex="-1" title="Expand row'
                f' (Space)" aria-label="Expand row {self.n}">⤢</button>'
            )
        if self.comments:
            # The badge; the thread itself is in the expanded row.
            parts.append(
                f'<span class="comments" aria-label="Comments on row {escape(self.id)}"'
                f' title="{self.comments} comment{"s" if self.comments != 1 else ""}">'
                f'<span class="comment-count badge">{self.comments}</span></span>'
            )
        parts.append("</td>")
        parts.extend(cell_td(c) for c in self.cells)
        parts.append("</tr>")
        return mark_safe("".join(parts))  # noqa: S308 - every value escaped above


def is_editable(field, meta, *, table_writable: bool) -> bool:
    """A cell the grid lets the user type into (links are changed through their picker).

    `meta` is the user's TableMeta: fields read-only for their role are not editable."""
    ftype = field_type_for(field)
    return (
        table_writable
        and field.id not in meta.read_only
        and bool(field.column_name)
        and not field.is_pk
        and not ftype.read_only
        and ftype.typed_in_cell
    )


def can_upload(field, meta, *, table_writable: bool) -> bool:
    """An attachment cell the user may drop files on (or add files to from its popup)."""
    return (
        field_type_for(field).holds_files
        and table_writable
        and field.id not in meta.read_only
        and bool(field.column_name)
    )


def raw_text(field, value) -> str:
    """The text an editor starts from and Ctrl+C copies; saving it back gives the same value."""
    return field_type_for(field).edit_text(field, value)


def display_html(field, value, file_url=None) -> str:
    """A value as the cell shows it (escaped HTML). `file_url` (attachment fields): entry ->
    the access-checked URL of that file, to show images as thumbnails."""
    return field_type_for(field).display_html(field, value, file_url)


def grid_cell(field, value, *, editable: bool, file_url=None) -> GridCell:
    """`editable`: typed into, or for an attachment cell, files may be added (can_upload)."""
    ftype = field_type_for(field)
    css = f" t-{field.uidt}"
    if not editable and not ftype.is_link:
        css += " ro"
    return GridCell(
        field.id,
        mark_safe(ftype.display_html(field, value, file_url)),  # noqa: S308 - escaped there
        ftype.edit_text(field, value),
        css,
    )


def typed_value(field, text, decimal_sep: str = ".", date_order: str = "dmy"):
    """What the grid sends to the records service for text typed or pasted into a cell."""
    return field_type_for(field).typed_value(field, text, decimal_sep, date_order)
