from django.core.management.base import BaseCommand, CommandError

from bases.models import Field
from history import backfill


class Command(BaseCommand):
    help = (
        "Fill a CreatedTime, LastModifiedTime, CreatedBy or LastModifiedBy field's empty "
        "cells from the record history (done by itself when such a field is added; run "
        "this when that was interrupted). Prints how many rows were filled."
    )

    def add_arguments(self, parser):
        parser.add_argument("field_id", help="the field's id")

    def handle(self, *args, field_id, **options):
        field = (
            Field.objects.select_related("table__source").filter(pk=field_id).first()
        )
        if not backfill.kept_column(field):
            raise CommandError(
                f"No CreatedTime, LastModifiedTime, CreatedBy or LastModifiedBy field "
                f"with a column has the id '{field_id}'."
            )
        self.stdout.write(str(backfill.run(field.pk).filled))
