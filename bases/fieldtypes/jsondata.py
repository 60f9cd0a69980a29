"""JSON: any JSON value."""

from __future__ import annotations

import json

from bases import value_limits as limits
from bases.fieldtypes.base import FieldType, Parser
from bases.fieldtypes.columns import JSON
from bases.fieldtypes.html import DISPLAY_LIMIT, format_html
from nocoplatform.errors import InvalidInput


class JSONType(FieldType):
    uidt, label, column_types, default_column_type = "JSON", "JSON", (JSON,), JSON
    icon = "{}"
    column_width = 220
    openapi = {"description": "any JSON value"}

    def parse(self, value, options):
        value = self._load(value)
        if value is not None:
            limits.json_text(value)  # refuses NULs and deep nesting
        return value

    def value_parser(self, field, *, db: str) -> Parser:
        load, limit = self._load, limits.text_limit(field, db=db)

        def parse_json(value, options):
            value = load(value)
            if value is not None:
                limit.check(limits.json_text(value))
            return value

        return parse_json

    @staticmethod
    def _load(value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except RecursionError:
                raise InvalidInput(
                    f"JSON nested more than {limits.MAX_JSON_DEPTH} levels deep"
                )
            except ValueError as exc:
                raise InvalidInput(f"invalid JSON: {exc}")
        return value

    def edit_text(self, field, value) -> str:
        return "" if value is None else json.dumps(value, ensure_ascii=False)

    def show(self, field, value, file_url=None) -> str:
        return format_html(
            '<code class="json">{}</code>',
            json.dumps(value, ensure_ascii=False)[:DISPLAY_LIMIT],
        )
