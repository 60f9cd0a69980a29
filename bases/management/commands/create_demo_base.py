from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from bases.demo import create_demo_base


class Command(BaseCommand):
    help = "Create the demo CRM base for the first admin (once; later runs keep existing data)."

    def handle(self, *args, **options):
        admin = (
            get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
        )
        if admin is None:
            self.stderr.write("No admin yet: run `manage.py ensure_admin` first.")
            return
        base = create_demo_base(admin)
        if base is not None:
            self.stdout.write(f"Demo base created: {base.title} ({base.pk})")
