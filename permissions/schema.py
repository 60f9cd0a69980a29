"""OpenAPI description of the token authentication (drf-spectacular extension, auto-loaded)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "permissions.auth.ApiTokenAuthentication"
    name = ["xcToken", "bearerToken"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "xc-token",
                "description": "API token from the API tokens page",
            },
            {
                "type": "http",
                "scheme": "bearer",
                "description": "The same API token as a Bearer token",
            },
        ]


class ExternalJwtScheme(OpenApiAuthenticationExtension):
    target_class = "permissions.jwt_auth.ExternalJwtAuthentication"
    name = "externalJwt"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token of an identity provider the installation "
            "trusts (NOCO_JWT_ISSUERS: Auth0, Supabase, Keycloak; docs/integration.md)",
        }
