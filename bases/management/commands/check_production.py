"""Say what the production profile is missing (nocoplatform/production_check.py); exit 1 if
anything stops it. `make serve` runs it before starting the processes."""

from django.core.management.base import BaseCommand, CommandError

from nocoplatform.production_check import problems


class Command(BaseCommand):
    help = (
        "Check the production profile's settings: meta DB, Redis, secret keys, hosts."
    )

    def handle(self, *args, **options):
        found = problems()
        for p in found:
            if p.error:
                self.stderr.write(self.style.ERROR(f"missing: {p.message}"))
            else:
                self.stderr.write(self.style.WARNING(f"warning: {p.message}"))
        errors = sum(p.error for p in found)
        if errors:
            raise CommandError(
                f"{errors} problem(s) stop the production profile (see above; "
                "README, 'Production profile')"
            )
        self.stdout.write(self.style.SUCCESS("Production settings: OK"))
