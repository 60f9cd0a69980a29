from django.core.management.base import BaseCommand

from audit.log import prune


class Command(BaseCommand):
    help = (
        "Delete activity-log entries older than NOCO_ACTIVITY_DAYS (also done hourly)."
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"deleted {prune()} activity entr(y/ies)")
