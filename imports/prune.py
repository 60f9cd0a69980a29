"""Retention of imports: jobs and their files older than NOCO_IMPORT_KEEP_DAYS are deleted.

Exports of large views (imports/exports.py: ExportJob, `<job id>.export.csv|xlsx`) are kept
and pruned the same way. What piles up in VAR_DIR/imports/ otherwise: uploads (and Excel workbooks) of jobs that were
never started, the CSV a sheet was converted to, refused-row CSVs, and files left behind by
a process that died. Run hourly next to the record history's prune (webhooks/dispatcher.py
in the embedded runner, the Celery beat's sweep in webhooks/tasks.py) and by
`manage.py prune_imports`.

A queued or running job is never touched — neither its row nor any of its files, however
old — and a file still named by a kept job stays too.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from imports import refused, uploads
from imports.models import ExportJob, ImportJob, NewTableJob

log = logging.getLogger(__name__)
ACTIVE = (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)


def _files(job) -> list[str]:
    if isinstance(job, ExportJob):
        return [p for p in (job.path, f"{job.path}.part" if job.path else "") if p]
    paths = [job.path, job.workbook_path, f"{job.path}.copy" if job.path else ""]
    if isinstance(job, ImportJob):
        paths.append(refused.path(job))
    return [p for p in paths if p]


def _stem(name: str) -> str:
    """What ties a file to its job: the name up to its first dot (`<hex>.upload`,
    `<hex>.upload.<id>.csv`, `<hex>.upload.<id>.csv.copy`, `<job id>.refused.csv`)."""
    return name.split(".", 1)[0]


def prune_imports(*, days: int | None = None) -> dict[str, int]:
    """Delete finished or never-started jobs older than `days` (NOCO_IMPORT_KEEP_DAYS; 0
    keeps them) with their files, then files of no job older than that: the counts."""
    days = settings.NOCO_IMPORT_KEEP_DAYS if days is None else days
    counts = {"jobs": 0, "files": 0}
    if days <= 0:
        return counts
    cutoff = timezone.now() - timedelta(days=days)
    for model in (ImportJob, NewTableJob, ExportJob):
        old = model.objects.filter(created_at__lt=cutoff).exclude(status__in=ACTIVE)
        columns = (
            ("pk", "path") if model is ExportJob else ("pk", "path", "workbook_path")
        )
        for job in list(old.only(*columns)):
            # Deleted only while still not queued: a start at this instant wins.
            deleted, _ = (
                model.objects.filter(pk=job.pk).exclude(status__in=ACTIVE).delete()
            )
            if deleted:
                counts["jobs"] += 1
                for path in _files(job):
                    if os.path.exists(path):
                        uploads.remove(path)
                        counts["files"] += 1
    counts["files"] += _prune_orphans(days)
    return counts


def _prune_orphans(days: int) -> int:
    """Files older than `days` that no job names (its job was deleted with its table,
    or its process died before cleaning up)."""
    kept: set[str] = set()
    for model in (ImportJob, NewTableJob):
        for pk, path, workbook in model.objects.values_list(
            "pk", "path", "workbook_path"
        ).iterator():
            kept.add(str(pk))
            kept.update(_stem(os.path.basename(p)) for p in (path, workbook) if p)
    # An export's file is named by its job's id (imports/exports.py::export_path).
    kept.update(
        str(pk) for pk in ExportJob.objects.values_list("pk", flat=True).iterator()
    )
    limit = time.time() - days * 86400
    removed = 0
    with os.scandir(uploads.imports_dir()) as entries:
        for entry in entries:
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                if _stem(entry.name) in kept or entry.stat().st_mtime >= limit:
                    continue
                os.remove(entry.path)
                removed += 1
            except OSError:  # gone meanwhile
                continue
    return removed
