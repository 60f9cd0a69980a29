from django.core.management.base import BaseCommand, CommandError

from bases import sync as meta_sync
from bases.models import Base
from bases.sources import user_db
from nocoplatform.errors import DomainError


class Command(BaseCommand):
    help = (
        "Re-read a base's database schema, apply it to the metadata and print the diff."
    )

    def add_arguments(self, parser):
        parser.add_argument("base_id")
        parser.add_argument(
            "--dry-run", action="store_true", help="only print the diff"
        )

    def handle(self, *args, base_id, dry_run, **options):
        base = Base.objects.filter(pk=base_id).first()
        if base is None:
            raise CommandError(f"No base {base_id}.")
        changes = []
        try:
            for source in base.sources.all():
                with user_db(source):
                    changes += (
                        meta_sync.diff(source) if dry_run else meta_sync.sync(source)
                    )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}")
        for change in changes:
            self.stdout.write(str(change))
        if not changes:
            self.stdout.write("in sync: no changes")
