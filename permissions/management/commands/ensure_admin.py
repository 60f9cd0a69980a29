"""Create the first admin account if there is none (`make run`). Prints its login once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from nocoplatform import env


class Command(BaseCommand):
    help = "Create the first admin (NOCO_ADMIN_EMAIL / NOCO_ADMIN_PASSWORD, or generated) if none exists."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        email = env.get("NOCO_ADMIN_EMAIL", "admin@example.com")
        password = env.get("NOCO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=email, email=email, password=password)
        shown = (
            password
            if not env.get("NOCO_ADMIN_PASSWORD")
            else "(the NOCO_ADMIN_PASSWORD you set)"
        )
        self.stdout.write(
            self.style.SUCCESS(
                "\n  First admin created — this login is printed only once:\n"
                f"    email:    {email}\n    password: {shown}\n"
            )
        )
