"""Compare the roles (Membership, TableRole) with their django-guardian mirror; --fix repairs."""

from django.core.management.base import BaseCommand, CommandError

from permissions import object_perms


class Command(BaseCommand):
    help = "Report where django-guardian's object permissions differ from the base and table roles."

    def add_arguments(self, parser):
        parser.add_argument(
            "--fix", action="store_true", help="rewrite guardian from the roles"
        )

    def handle(self, *args, fix=False, **options):
        found = object_perms.drift()
        for line in found[:200]:
            self.stdout.write(line)
        if len(found) > 200:
            self.stdout.write(f"... and {len(found) - 200} more")
        if not found:
            self.stdout.write("guardian matches the roles.")
            return
        if fix:
            count = object_perms.sync_all()
            self.stdout.write(f"Synced {count} bases.")
            return
        raise CommandError(f"{len(found)} differences (run with --fix to repair).")
