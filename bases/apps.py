from django.apps import AppConfig


class BasesConfig(AppConfig):
    name = "bases"
    verbose_name = "Bases and data sources"

    def ready(self):
        from corsheaders.signals import check_request_enabled

        from bases.cors import base_origin_allowed

        check_request_enabled.connect(base_origin_allowed, dispatch_uid="base-cors")
