from django.core.management.base import BaseCommand

from ops.slowlog import prune


class Command(BaseCommand):
    help = (
        "Delete slow-request records older than NOCO_SLOW_REQUEST_RETENTION_DAYS (the server "
        "also does this at most hourly while it records new ones)."
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"deleted {prune()} slow-request record(s)")
