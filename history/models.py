"""The record history (audit): one row per record touched by a write, in the meta DB.

Written by history.services.record from the records service (records/writes.py), the
one place every record write passes; read by history.selectors, which cuts each entry down to
the fields its reader may see.
"""

from django.conf import settings
from django.db import models


class RecordChange(models.Model):
    """What one write did to one record: who, when, and the fields' old and new values.

    `changes` maps field ids to `[old, new]`: both for an update (only fields whose value
    changed), `[null, value]` for an insert, `[value, null]` for a delete, `[null, [ids]]` for a
    link and `[[ids], null]` for an unlink (the other records' ids). Values are plain JSON
    (records.values.plain). Field ids, not titles: a renamed field keeps its history, and a
    reader's field rules apply by id.
    """

    class Kind(models.TextChoices):
        INSERT = "insert", "created the row"
        UPDATE = "update", "edited"
        DELETE = "delete", "deleted the row"
        LINK = "link", "linked"
        UNLINK = "unlink", "unlinked"

    class Via(models.TextChoices):
        USER = "user", "user"
        TOKEN = "token", "API token"
        FORM = "form", "public form"
        SHARE = "share", "shared view"
        SYSTEM = "system", "system"

    id = models.BigAutoField(primary_key=True)
    # The composite index below serves lookups by table; no separate one.
    # No database constraints on the two foreign keys: Django's collector does the CASCADE and
    # SET_NULL, and the checks' triggers cost two lookups per entry — on a 1000-row bulk write,
    # a measurable share of its history (bench/RESULTS.md).
    table = models.ForeignKey(
        "bases.Table",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # The record id as the API spells it (composite keys joined by ___).
    record_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=6, choices=Kind.choices)
    changes = models.JSONField(default=dict)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        db_constraint=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    via = models.CharField(max_length=6, choices=Via.choices)
    # The user's email when the write was made (kept if the account is deleted later), or the
    # title of the form a visitor filled in.
    actor_name = models.CharField(max_length=254, blank=True, default="")
    token_name = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["table", "record_id", "-id"], name="history_row_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.table_id}/{self.record_id}"


class DeletedRow(models.Model):
    """A deleted row kept for NOCO_TRASH_DAYS days so it can be restored (history/trash.py).

    `values` holds every column the row had (field id → plain JSON value, hidden fields
    included: it is read server-side only, never sent to a reader whole), `links` the other
    records its has-many and many-to-many links pointed at when it was deleted (link field id
    → their record ids), `display` the row's display value for the "Deleted rows" panel.
    """

    id = models.BigAutoField(primary_key=True)
    table = models.ForeignKey(
        "bases.Table",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    record_id = models.CharField(max_length=255)
    values = models.JSONField(default=dict)
    links = models.JSONField(default=dict)
    display = models.CharField(max_length=255, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        db_constraint=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Who deleted it when they did (a user's email, an API token's user, a form's title).
    actor_name = models.CharField(max_length=254, blank=True, default="")
    deleted_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["table", "-deleted_at"], name="history_trash_table_idx"
            ),
            models.Index(fields=["table", "record_id"], name="history_trash_row_idx"),
        ]

    def __str__(self) -> str:
        return f"deleted {self.table_id}/{self.record_id}"


class KeptFieldFill(models.Model):
    """A kept field's fill from the record history that continues in the background
    (history/backfill.py): how far it got and when it last said so. A fill whose process
    ended (a restart, a killed worker) goes stale and the recovery sweep continues it from
    `after` (history/backfill.py::resume_stalled); the row goes when the fill is complete."""

    field = models.OneToOneField(
        "bases.Field",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    after = models.TextField(blank=True, default="")  # the last record id filled
    heartbeat_at = models.DateTimeField()
    resumed = models.PositiveSmallIntegerField(default=0)  # times a sweep continued it

    def __str__(self) -> str:
        return f"fill of {self.field_id} after {self.after!r}"
