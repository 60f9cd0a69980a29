from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bases.models import Base
from nocoplatform.errors import DomainError
from permissions.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is stored hashed and never shown again)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--base", help="limit the token to this base id")
        parser.add_argument("--read-only", action="store_true")

    def handle(self, *args, email, name, base, read_only, **options):
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with email {email}.")
        base_obj = None
        if base:
            base_obj = Base.objects.filter(pk=base).first()
            if base_obj is None:
                raise CommandError(f"No base {base}.")
        try:
            _, raw = api_token_create(
                user=user, name=name, base=base_obj, read_only=read_only
            )
        except DomainError as exc:
            raise CommandError(exc.message)
        self.stdout.write(raw)
