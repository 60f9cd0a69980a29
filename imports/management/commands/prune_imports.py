from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from imports.prune import prune_imports


class Command(BaseCommand):
    help = (
        "Delete import jobs (finished or never started) older than NOCO_IMPORT_KEEP_DAYS "
        "days (or --days N) with their files, and files under var/imports/ no job names. "
        "Queued and running jobs are kept. Prints how many jobs and files were deleted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"keep this many days instead of NOCO_IMPORT_KEEP_DAYS "
            f"({settings.NOCO_IMPORT_KEEP_DAYS})",
        )

    def handle(self, *args, days=None, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        counts = prune_imports(days=days)
        self.stdout.write(f"{counts['jobs']} job(s), {counts['files']} file(s)")
