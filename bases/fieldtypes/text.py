"""Text types: single line, long text, email, URL, phone number."""

from __future__ import annotations

import re

from django.core.validators import URLValidator

from bases import value_limits as limits
from bases.fieldtypes.base import FieldType, Parser
from bases.fieldtypes.columns import LONGTEXT, TEXT, TEXTUAL
from bases.fieldtypes.html import DISPLAY_LIMIT, escape, format_html
from nocoplatform.errors import InvalidInput

SAFE_URL = re.compile(r"^(https?|ftp)://|^mailto:", re.IGNORECASE)


class SingleLineText(FieldType):
    uidt, label, column_types, default_column_type = (
        "SingleLineText",
        "Single line text",
        TEXTUAL,
        TEXT,
    )
    icon = "Aa"
    display_text = True

    def parse(self, value, options):
        if value is None:
            return None
        if isinstance(value, bool):  # before int: True is an int
            raise InvalidInput("expected text, not true/false")
        if isinstance(value, (dict, list)):
            kind = "an object" if isinstance(value, dict) else "a list"
            raise InvalidInput(f"expected text, not {kind}")
        # A JSON number becomes its text (docs/api.md, "Types"); anything else is refused.
        if not isinstance(value, (str, int, float)):
            raise InvalidInput("expected text")
        return limits.refuse_nul(str(value))

    def value_parser(self, field, *, db: str) -> Parser:
        parse, limit = self.parse, limits.text_limit(field, db=db)
        chars, check = limit.chars, limit.check
        if limit.bytes is None and type(self).parse is SingleLineText.parse:
            # Plain text, most cells of a bulk write: one call, the checks inline.
            def parse_plain(value, options):
                if type(value) is str and len(value) <= chars and "\x00" not in value:
                    return value
                text = parse(value, options)
                if text is not None:
                    check(text)
                return text

            return parse_plain

        def parse_text(value, options):
            if type(value) is str:
                check(value)  # before the type's own checks scan it
            text = parse(value, options)
            if text is not None and text is not value:
                check(text)
            return text

        return parse_text


class LongText(SingleLineText):
    uidt, label, default_column_type = "LongText", "Long text", LONGTEXT
    icon = "¶"
    column_width = 240


class Email(SingleLineText):
    uidt, label = "Email", "Email"
    icon = "@"
    column_width = 220
    input_type = "email"
    display_text = False
    openapi = {"type": "string", "format": "email"}
    _re = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    def parse(self, value, options):
        value = super().parse(value, options)
        if value and not self._re.match(value):
            raise InvalidInput(f"'{value}' is not a valid email address")
        return value or (None if value is None else "")


class URL(SingleLineText):
    uidt, label = "URL", "URL"
    icon = "↗"
    column_width = 220
    input_type = "url"
    display_text = False
    has_cover = True
    openapi = {"type": "string", "format": "uri"}

    def parse(self, value, options):
        value = super().parse(value, options)
        if value:
            try:
                URLValidator(schemes=["http", "https", "ftp", "mailto"])(value)
            except Exception:
                raise InvalidInput(f"'{value}' is not a valid URL")
        return value

    def show(self, field, value, file_url=None) -> str:
        text = str(value)
        if SAFE_URL.match(text):
            return format_html(
                '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
                text,
                text[:120],
            )
        return escape(text[:DISPLAY_LIMIT])

    def cover_url(self, field, value, table=None, record_id=None) -> str | None:
        """A web address, or a path on this site; nothing else becomes an <img src>."""
        text = str(value or "").strip()
        if text.lower().startswith(("https://", "http://")) or (
            text.startswith("/") and not text.startswith("//")
        ):
            return text
        return None


class PhoneNumber(SingleLineText):
    uidt, label = "PhoneNumber", "Phone number"
    icon = "☏"
    input_type = "tel"
    display_text = False
    _re = re.compile(r"^\+?[0-9 ()./-]{3,32}$")

    def parse(self, value, options):
        value = super().parse(value, options)
        if value and not self._re.match(value):
            raise InvalidInput(f"'{value}' is not a valid phone number")
        return value
