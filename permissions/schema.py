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
