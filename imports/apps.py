from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """CSV imports into existing tables, run as background jobs (docs/import-export.md)."""

    name = "imports"
    verbose_name = "Imports"
