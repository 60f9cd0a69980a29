from django.apps import AppConfig


class BasesConfig(AppConfig):
    name = "bases"
    verbose_name = "Bases and data sources"
