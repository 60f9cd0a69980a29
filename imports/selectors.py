"""Reads of a table's jobs for the API's job lists (docs/import-export.md): the caller's own
import or export jobs on the table, newest first, one page at a time.

The same visibility as one job's GET (imports/services.py::job_get, imports/exports.py::
job_get): a job belongs to the user who made it, whichever of their credentials they list
with, and nobody else sees it — not even the base's owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from bases.models import Table
from bases.serializers import page_info
from imports import services
from imports.models import ExportJob, ImportJob
from permissions.checks import Actor, require


@dataclass(frozen=True)
class JobPage:
    jobs: list
    page_info: dict


def import_job_list(
    *, actor: Actor, table: Table, status: str | None, limit: int, offset: int
) -> JobPage:
    """The actor's imports into `table` (editors and up, as one import job's GET)."""
    services.may_import(actor, table)
    jobs = ImportJob.objects.filter(table=table, user=actor.user)
    return _page(jobs, status=status, limit=limit, offset=offset)


def export_job_list(
    *, actor: Actor, table: Table, status: str | None, limit: int, offset: int
) -> JobPage:
    """The actor's export jobs of `table` (whoever may read it, as one export job's GET)."""
    require(actor, "records.read", table)
    jobs = ExportJob.objects.filter(table=table, user=actor.user)
    return _page(jobs, status=status, limit=limit, offset=offset)


def _page(jobs: QuerySet, *, status: str | None, limit: int, offset: int) -> JobPage:
    if status is not None:
        jobs = jobs.filter(status=status)
    # An exact count is cheap here: one user's jobs on one table, pruned after
    # NOCO_IMPORT_KEEP_DAYS. The id breaks ties so that pages never overlap.
    total = jobs.count()
    page = list(jobs.order_by("-created_at", "-pk")[offset : offset + limit])
    return JobPage(page, page_info(total, limit, offset=offset))
