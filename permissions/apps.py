from django.apps import AppConfig
from django.core import checks


class PermissionsConfig(AppConfig):
    name = "permissions"
    verbose_name = "Roles, memberships and API tokens"

    def ready(self):
        from permissions import schema  # noqa: F401 - registers the OpenAPI auth extension

        checks.register(external_identity_settings)


def external_identity_settings(app_configs=None, **kwargs):
    """NOCO_JWT_ISSUERS and NOCO_OIDC_PROVIDERS are checked when the server starts (every
    manage.py command runs system checks), not at the first request that needs them."""
    from django.core.exceptions import ImproperlyConfigured

    from permissions import jwt_auth, oidc

    errors = []
    for parse, ident in (
        (jwt_auth.issuers, "permissions.E101"),
        (oidc.providers, "permissions.E102"),
    ):
        try:
            parse()
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), id=ident))
    return errors
