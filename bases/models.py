"""Metadata about user databases: bases, their data sources, tables and fields.

Ids are short random strings with NocoDB-like prefixes (`p…` bases, `b…` sources, `m…` tables,
`c…` fields): clients written for NocoDB treat ids as opaque strings, and random ids do not leak
how many objects exist.
"""

import secrets

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(7)


def new_base_id() -> str:
    return _new_id("p")


def new_source_id() -> str:
    return _new_id("b")


def new_table_id() -> str:
    return _new_id("m")


def new_field_id() -> str:
    return _new_id("c")


class Base(models.Model):
    id = models.CharField(
        primary_key=True, max_length=20, default=new_base_id, editable=False
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    # Origins (https://app.example.com) whose pages may call this base's API, beside the
    # installation's NOCO_CORS_ORIGINS (bases/cors.py).
    cors_origins = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        # Object permissions mirroring the base roles in django-guardian (written only by
        # permissions/object_perms.py, which maps each role to them).
        permissions = [
            ("read_base", "Read the base (tables, records, views)"),
            ("comment_base", "Comment on records in the base"),
            ("edit_base_records", "Edit records in the base"),
            ("build_base", "Create and delete tables, fields, views and records"),
            ("manage_base", "Manage the base (settings, sources, members)"),
        ]

    def __str__(self) -> str:
        return self.title


class DataSource(models.Model):
    class Kind(models.TextChoices):
        POSTGRES = "pg", "PostgreSQL"
        MYSQL = "mysql2", "MySQL / MariaDB"
        SQLITE = "sqlite3", "SQLite"

    id = models.CharField(
        primary_key=True, max_length=20, default=new_source_id, editable=False
    )
    base = models.ForeignKey(Base, on_delete=models.CASCADE, related_name="sources")
    alias = models.CharField(max_length=200, blank=True, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The platform's own store (base created from scratch) rather than an external database.
    is_builtin = models.BooleanField(default=False)
    # JSON of host/port/user/password/database/schema/path, Fernet-encrypted (bases.crypto).
    config_encrypted = models.TextField()
    allow_data_edit = models.BooleanField(default=True)
    allow_schema_edit = models.BooleanField(default=True)
    # A site admin last saved the connection settings: its connections may reach private
    # addresses (bases/netpolicy.py). Cleared when anyone else changes them.
    approved_by_admin = models.BooleanField(default=False)
    # Bumped on every metadata change so per-process caches know to reload.
    meta_version = models.PositiveIntegerField(default=1)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.alias or self.get_kind_display()


class Table(models.Model):
    class Kind(models.TextChoices):
        TABLE = "table", "Table"
        VIEW = "view", "Database view"

    id = models.CharField(
        primary_key=True, max_length=20, default=new_table_id, editable=False
    )
    base = models.ForeignKey(Base, on_delete=models.CASCADE, related_name="tables")
    source = models.ForeignKey(
        DataSource, on_delete=models.CASCADE, related_name="tables"
    )
    table_name = models.CharField(max_length=255)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TABLE)
    # A junction table of a many-to-many relation (shown as links on both sides).
    is_junction = models.BooleanField(default=False)
    # Why rows cannot be written ("no primary key", "database view"); empty when writable.
    read_only_reason = models.CharField(max_length=200, blank=True, default="")
    order = models.PositiveIntegerField(default=0)
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "table_name"], name="unique_table_per_source"
            )
        ]
        # The effective table role (a table override, else the base role) in django-guardian.
        permissions = [
            ("read_table", "Read the table and its records"),
            ("comment_table", "Comment on the table's records"),
            ("edit_table_records", "Edit the table's records"),
            (
                "build_table",
                "Change the table's fields and views, add and delete records",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read_only(self) -> bool:
        return bool(self.read_only_reason)


class Field(models.Model):
    """A column of a table, or a virtual field (link) that has no column of its own."""

    id = models.CharField(
        primary_key=True, max_length=20, default=new_field_id, editable=False
    )
    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="fields")
    # Database column; empty for virtual fields (has-many and many-to-many links).
    column_name = models.CharField(max_length=255, blank=True, default="")
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    # Field type name, as registered in bases.fieldtypes (NocoDB's `uidt` names).
    uidt = models.CharField(max_length=40)
    # The database's own type, as introspected ("character varying(120)", "int(11)", ...).
    db_type = models.CharField(max_length=200, blank=True, default="")
    # The abstract column type behind uidt (bases.fieldtypes.ColumnType), used for DDL and diffs.
    column_type = models.CharField(max_length=40, blank=True, default="")
    is_pk = models.BooleanField(default=False)
    is_nullable = models.BooleanField(default=True)
    is_auto = models.BooleanField(default=False)
    is_system = models.BooleanField(default=False)
    is_unique = models.BooleanField(default=False)
    # NULL: the column has no default; "" is a default of the empty string.
    default = models.TextField(blank=True, null=True)  # noqa: DJ001
    # Display/behaviour options: select choices with colours, precision, formats, link details.
    options = models.JSONField(default=dict, blank=True)
    related_table = models.ForeignKey(
        Table, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "created_at"]

    # Fields key the per-value dicts of bulk writes: hash the id directly (Model.__hash__ is
    # several times slower, and 1,000 rows × columns of lookups add up).
    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other) -> bool:
        return isinstance(other, Field) and other.id == self.id

    def __str__(self) -> str:
        return self.title

    @property
    def is_virtual(self) -> bool:
        return not self.column_name


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` sent with a records POST (bases/idempotency.py): who sent it for
    which table, a hash of the body, and once the request succeeded, its answer to replay."""

    caller = models.CharField(max_length=40)  # "token:<id>" or "user:<id>"
    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    # NULL while the first request with this key runs.
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["caller", "table", "key"], name="unique_idempotency_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.caller} {self.table_id} {self.key}"
