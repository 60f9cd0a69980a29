from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bases.connections.config import ConnectionConfig
from bases.services import base_connect
from nocoplatform.errors import DomainError
from permissions.checks import Actor


class Command(BaseCommand):
    help = "Connect an external database as a new base, sync its schema and print the base id."

    def add_arguments(self, parser):
        parser.add_argument("title")
        parser.add_argument("url", help="postgresql://…, mysql://… or sqlite:///path")
        parser.add_argument("--owner", help="owner's email (default: the first admin)")
        parser.add_argument("--allow-schema-edit", action="store_true")
        parser.add_argument(
            "--read-only", action="store_true", help="switch data edits off"
        )

    def handle(self, *args, title, url, owner, allow_schema_edit, read_only, **options):
        User = get_user_model()
        user = (
            User.objects.filter(email__iexact=owner).first()
            if owner
            else User.objects.filter(is_superuser=True).order_by("pk").first()
        )
        if user is None:
            raise CommandError(
                f"No user {owner}."
                if owner
                else "No admin user yet: run `manage.py ensure_admin`."
            )
        try:
            base, changes = base_connect(
                # Whoever runs manage.py runs the server: the source counts as approved by
                # an admin (private addresses allowed, no rate limit), whoever owns it.
                actor=Actor(user=user, system=True),
                title=title,
                config=ConnectionConfig.from_url(url),
                allow_schema_edit=allow_schema_edit,
                allow_data_edit=not read_only,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}")
        self.stderr.write(f"{base.tables.count()} tables and views synced")
        self.stdout.write(base.pk)
