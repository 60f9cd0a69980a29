"""An import of one CSV file into an existing table: the file, its mapping and its progress."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportJob(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "uploaded"  # checked and previewed; waiting for its mapping
        PENDING = "pending", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    table = models.ForeignKey(
        "bases.Table", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    path = models.CharField(max_length=500)  # the CSV read, under VAR_DIR/imports/
    # An Excel upload is kept until the job starts, to switch sheets (imports/uploads.py;
    # blank for a CSV).
    workbook_path = models.CharField(max_length=500, blank=True, default="")
    sheets = models.JSONField(default=list, blank=True)
    sheet = models.CharField(max_length=255, blank=True, default="")
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    header = models.JSONField(default=list)
    # Column index (as text) → field id; unmapped columns are skipped.
    mapping = models.JSONField(default=dict)
    # Upsert: the column (index) whose field matches existing rows; None inserts every row.
    key_column = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    # Rows read by the check pass so far (before `total` is known).
    checked = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    # How many rows were refused in all (`errors` lists the first 100; the CSV, all).
    refused = models.PositiveIntegerField(default=0)
    # Set by job_cancel; the runner stops at its next batch and rolls back.
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")
    # The rows refused by the check before any write: [{"line": n, "message": "…"}] (≤ 100).
    errors = models.JSONField(default=list, blank=True)
    # Refreshed every few seconds while queued or running (imports/recovery.py): a running
    # job whose heartbeat is older than NOCO_JOB_STALE_SECONDS lost its process.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # How many times the recovery took the job over from a process that ended mid-run.
    recoveries = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the writing started (after the check pass): the rate's origin.
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"import {self.pk} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)

    def rate(self) -> float | None:
        """Rows written per second since the writing started (None before)."""
        if self.started_at is None or not self.done:
            return None
        end = self.finished_at or timezone.now()
        seconds = (end - self.started_at).total_seconds()
        return self.done / seconds if seconds > 0 else None

    def seconds_left(self) -> int | None:
        """Time left at the current rate (None when unknown or finished)."""
        rate = self.rate()
        if not self.active or rate is None or self.total is None:
            return None
        return max(0, round((self.total - self.done) / rate))


class NewTableJob(models.Model):
    """An import of one CSV (or Excel sheet) into a NEW table of a base (imports/newtable.py):
    the file, the table's name and each column's type as the user chose them, its progress."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    base = models.ForeignKey(
        "bases.Base", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    path = models.CharField(max_length=500)  # the CSV read, under VAR_DIR/imports/
    # An Excel upload is kept until the job starts, to switch sheets (blank for a CSV).
    workbook_path = models.CharField(max_length=500, blank=True, default="")
    sheets = models.JSONField(default=list, blank=True)
    sheet = models.CharField(max_length=255, blank=True, default="")
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    header = models.JSONField(default=list)
    title = models.CharField(max_length=255)  # the new table's name
    # One per file column, in order: {"title", "type", "detected", "dateOrder",
    # "decimalSep", "precision"}; type "skip" leaves the column out.
    columns = models.JSONField(default=list)
    status = models.CharField(
        max_length=10, choices=ImportJob.Status.choices, default=ImportJob.Status.NEW
    )
    total = models.PositiveIntegerField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    errors = models.JSONField(default=list, blank=True)
    table_id = models.CharField(max_length=64, blank=True, default="")  # once created
    # The new table's physical name and data source, noted (committed) just before its DDL:
    # a process killed between the DDL and the metadata's commit leaves a table that only
    # these name, which the recovery drops (imports/recovery.py).
    table_name = models.CharField(max_length=255, blank=True, default="")
    source_id = models.CharField(max_length=64, blank=True, default="")
    # Set by the cancel (imports/services.py::cancel_job); the runner stops at its next
    # chunk, rolls back and deletes the table it created.
    cancel_requested = models.BooleanField(default=False)
    # Refreshed every few seconds while queued or running (imports/recovery.py): a running
    # job whose heartbeat is older than NOCO_JOB_STALE_SECONDS lost its process.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # How many times the recovery took the job over from a process that ended mid-run.
    recoveries = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"new-table import {self.pk} ({self.status})"


class ExportJob(models.Model):
    """A large view's export to CSV or XLSX run in the background (imports/exports.py), its
    progress shown to the member who asked, its file under VAR_DIR/imports/ readable by them
    only. Kept and pruned like imports (imports/prune.py, NOCO_IMPORT_KEEP_DAYS)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    table = models.ForeignKey(
        "bases.Table", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    view_id = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    # The API token (permissions.models.ApiToken's id) the job was made with, if any: the run
    # acts through it, narrowed as the request was; revoked or deleted, the job fails. A plain
    # id, not a foreign key, so a deleted token still tells a token-made job from a user's.
    api_token_id = models.BigIntegerField(null=True, blank=True)
    format = models.CharField(max_length=4)  # csv or xlsx
    search = models.CharField(
        max_length=200, blank=True, default=""
    )  # the toolbar's ?q=
    file_name = models.CharField(max_length=255)  # the download's name (table - view)
    path = models.CharField(max_length=500, blank=True, default="")  # once written
    status = models.CharField(
        max_length=10,
        choices=ImportJob.Status.choices,
        default=ImportJob.Status.PENDING,
    )
    total = models.PositiveIntegerField(
        null=True, blank=True
    )  # the view's count at start
    done = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")
    # Refreshed every few seconds while queued or running (imports/recovery.py): a running
    # job whose heartbeat is older than NOCO_JOB_STALE_SECONDS lost its process.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # How many times the recovery took the job over from a process that ended mid-run.
    recoveries = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    Status = ImportJob.Status

    def __str__(self) -> str:
        return f"export {self.pk} ({self.status})"

    active = ImportJob.active
    rate = ImportJob.rate

    def seconds_left(self) -> int | None:
        rate = self.rate()
        if not self.active or rate is None or self.total is None:
            return None
        return max(0, round(max(0, self.total - self.done) / rate))
