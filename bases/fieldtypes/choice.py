"""Choice types: one option (SingleSelect) or several, comma-joined (MultiSelect)."""

from __future__ import annotations

import re

from bases import value_limits as limits
from bases.fieldtypes.html import chip
from bases.fieldtypes.text import SingleLineText
from nocoplatform.errors import InvalidInput

SELECT_COLOURS = [
    "#cfdffe",
    "#d0f1fd",
    "#c2f5e9",
    "#ffdaf6",
    "#ffdce5",
    "#fee2d5",
    "#ffeab6",
    "#d1f7c4",
    "#ede2fe",
    "#eeeeee",
]
NO_COLOUR = "#eeeeee"


def choice_titles(options: dict) -> list[str]:
    return [
        c["title"]
        for c in options.get("choices", [])
        if isinstance(c, dict) and "title" in c
    ]


def normalise_choices(raw) -> list[dict]:
    """Accept ["a", "b"] or [{"title": "a", "color": "#…"}]; give every choice a colour."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise InvalidInput("`choices` must be a list of options")
    out, seen = [], set()
    for i, item in enumerate(raw):
        title = item.get("title") if isinstance(item, dict) else item
        if not isinstance(title, str) or not title.strip():
            raise InvalidInput(f"option {i + 1} has no title")
        title = title.strip()
        if title in seen:
            continue
        seen.add(title)
        colour = item.get("color") if isinstance(item, dict) else None
        if not (isinstance(colour, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", colour)):
            colour = SELECT_COLOURS[len(out) % len(SELECT_COLOURS)]
        out.append({"title": title, "color": colour})
    return out


def choice_colours(field) -> dict:
    """title -> colour of a choice field, cached on the field for the page being rendered."""
    colours = getattr(field, "_grid_colours", None)
    if colours is None:
        colours = {
            c.get("title"): c.get("color", NO_COLOUR)
            for c in (field.options or {}).get("choices", [])
            if isinstance(c, dict)
        }
        field._grid_colours = colours
    return colours


def clean_choice_options(options: dict, data: dict) -> dict:
    """`choices` from the options, the request's `choices` or NocoDB's `colOptions`."""
    choices = data.get("choices", options.get("choices"))
    if choices is None and isinstance(data.get("colOptions"), dict):
        choices = data["colOptions"].get("options")
    return {**options, "choices": normalise_choices(choices)}


class SingleSelect(SingleLineText):
    uidt, label = "SingleSelect", "Single select"
    icon = "▾"
    display_text = False
    has_choices = True
    options_ui = "choices"

    def clean_options(self, options: dict, data: dict) -> dict:
        return clean_choice_options(options, data)

    def parse(self, value, options):
        value = super().parse(value, options)
        if value and options.get("choices") and value not in choice_titles(options):
            raise InvalidInput(f"'{value}' is not one of the options")
        return value

    def schema(self, field) -> dict:
        choices = [c["title"] for c in field.options.get("choices", [])]
        return {**({"enum": choices} if choices else {}), **super().schema(field)}

    def show(self, field, value, file_url=None) -> str:
        return chip(value, choice_colours(field).get(value, NO_COLOUR))


class MultiSelect(SingleLineText):
    uidt, label = "MultiSelect", "Multi select"
    icon = "▾"
    display_text = False
    has_choices = True
    options_ui = "choices"
    multiple = True
    openapi = {"type": "string", "description": "comma-separated options"}

    def clean_options(self, options: dict, data: dict) -> dict:
        return clean_choice_options(options, data)

    def parse(self, value, options):
        if value is None:
            return None
        items = value if isinstance(value, list) else [v for v in str(value).split(",")]
        items = [str(v).strip() for v in items if str(v).strip()]
        known = choice_titles(options)
        for item in items:
            if known and item not in known:
                raise InvalidInput(f"'{item}' is not one of the options")
            if "," in item:
                raise InvalidInput("options may not contain commas")
        return limits.refuse_nul(",".join(items))

    def show(self, field, value, file_url=None) -> str:
        colours = choice_colours(field)
        return "".join(
            chip(v, colours.get(v, NO_COLOUR)) for v in str(value).split(",") if v
        )

    def posted_text(self, data, key: str) -> str | None:
        return ",".join(v for v in data.getlist(key) if v)

    def from_typed(self, text, decimal_sep):
        return ",".join(p.strip() for p in re.split(r"[,;\n]", text) if p.strip())
