from django.conf import settings
from django.core.management.base import BaseCommand

from imports.recovery import recover_jobs


class Command(BaseCommand):
    help = (
        "Take over imports and exports whose process ended mid-run (no heartbeat for "
        "NOCO_JOB_STALE_SECONDS): clean up, queue each again once, else mark it failed; "
        "start queued jobs no runner took; continue kept-field fills from the record history "
        "that stalled. With the embedded runner the web process starts "
        "the queued ones (this command's threads would end with it)."
    )

    def handle(self, *args, **options):
        counts = recover_jobs(dispatch=settings.NOCO_WEBHOOKS_RUNNER == "celery")
        self.stdout.write(", ".join(f"{n} {outcome}" for outcome, n in counts.items()))
