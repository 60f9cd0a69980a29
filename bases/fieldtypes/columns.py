"""Abstract column types: what a database column is, independent of dialect, and the Django
field the schema editor uses to create one."""

from __future__ import annotations

from django.db import models

from nocoplatform.errors import InvalidInput

TEXT, LONGTEXT, INTEGER, BIGINT, DECIMAL, FLOAT, BOOLEAN = (
    "text",
    "longtext",
    "integer",
    "bigint",
    "decimal",
    "float",
    "boolean",
)
DATE, DATETIME, TIME, JSON, UUID, DURATION, BINARY, OTHER = (
    "date",
    "datetime",
    "time",
    "json",
    "uuid",
    "duration",
    "binary",
    "other",
)
TEXTUAL = (TEXT, LONGTEXT)
NUMERIC = (INTEGER, BIGINT, DECIMAL, FLOAT)
ORDERED = NUMERIC + (DATE, DATETIME, TIME)


class UUIDColumn(models.Field):
    """uuid on PostgreSQL, char(36) elsewhere (the text form every client sends)."""

    def db_type(self, connection):
        return "uuid" if connection.vendor == "postgresql" else "char(36)"


_SIMPLE = {
    LONGTEXT: models.TextField,
    INTEGER: models.IntegerField,
    BIGINT: models.BigIntegerField,
    FLOAT: models.FloatField,
    BOOLEAN: models.BooleanField,
    DATE: models.DateField,
    DATETIME: models.DateTimeField,
    TIME: models.TimeField,
    JSON: models.JSONField,
    UUID: models.UUIDField,
    DURATION: models.DurationField,
    BINARY: models.BinaryField,
}


def column_model_field(
    column_type: str, *, null: bool, options: dict | None = None
) -> models.Field:
    """The Django field that creates a column of an abstract column type (for the schema editor)."""
    options = options or {}
    if column_type == TEXT:
        return models.CharField(
            max_length=int(options.get("max_length") or 255), null=null
        )
    if column_type == DECIMAL:
        return models.DecimalField(
            max_digits=int(options.get("max_digits") or 20),
            decimal_places=int(options.get("precision", 2)),
            null=null,
        )
    if column_type in _SIMPLE:
        return _SIMPLE[column_type](null=null)
    raise InvalidInput(f"cannot create a column of type '{column_type}'")


# Django field class names (from introspection) → abstract column types.
DJANGO_TO_COLUMN = {
    "CharField": TEXT,
    "TextField": LONGTEXT,
    "GenericIPAddressField": TEXT,
    "SlugField": TEXT,
    "EmailField": TEXT,
    "URLField": TEXT,
    "AutoField": INTEGER,
    "SmallAutoField": INTEGER,
    "BigAutoField": BIGINT,
    "IntegerField": INTEGER,
    "SmallIntegerField": INTEGER,
    "PositiveIntegerField": INTEGER,
    "PositiveSmallIntegerField": INTEGER,
    "BigIntegerField": BIGINT,
    "PositiveBigIntegerField": BIGINT,
    "DecimalField": DECIMAL,
    "FloatField": FLOAT,
    "BooleanField": BOOLEAN,
    "NullBooleanField": BOOLEAN,
    "DateField": DATE,
    "DateTimeField": DATETIME,
    "TimeField": TIME,
    "JSONField": JSON,
    "UUIDField": UUID,
    "DurationField": DURATION,
    "BinaryField": BINARY,
}
