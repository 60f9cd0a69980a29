"""History values as short text for the History panel (the template escapes it)."""

from __future__ import annotations

import json

from bases.fieldtypes import field_type_for

MAX_SHOWN = 200


def cell_text(field, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "checked" if value else "unchecked"
    if field_type_for(field).holds_files and isinstance(value, list):
        text = ", ".join(
            str(v.get("name") or "file") if isinstance(v, dict) else str(v)
            for v in value
        )
    elif field_type_for(field).is_link and isinstance(value, list):
        text = ", ".join(f"#{v}" for v in value)
    elif isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"
