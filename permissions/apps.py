from django.apps import AppConfig


class PermissionsConfig(AppConfig):
    name = "permissions"
    verbose_name = "Roles, memberships and API tokens"

    def ready(self):
        from permissions import schema  # noqa: F401 - registers the OpenAPI auth extension
