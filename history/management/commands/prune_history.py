from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from history.services import prune_history


class Command(BaseCommand):
    help = (
        "Delete record history entries older than NOCO_HISTORY_DAYS days "
        "(or --days N). Prints how many were deleted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"keep this many days instead of NOCO_HISTORY_DAYS "
            f"({settings.NOCO_HISTORY_DAYS})",
        )

    def handle(self, *args, days=None, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        deleted = prune_history(days=days)
        self.stdout.write(str(deleted))
