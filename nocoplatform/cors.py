"""django-cors-headers' middleware, with no credentials for a base's own origins
(bases/cors.py): only the installation's NOCO_CORS_ORIGINS get them."""

from corsheaders.middleware import (
    ACCESS_CONTROL_ALLOW_CREDENTIALS,
)
from corsheaders.middleware import CorsMiddleware as _CorsMiddleware


class CorsMiddleware(_CorsMiddleware):
    def add_response_headers(self, request, response):
        response = super().add_response_headers(request, response)
        if getattr(request, "_noco_base_cors", False) and (
            ACCESS_CONTROL_ALLOW_CREDENTIALS in response
        ):
            del response[ACCESS_CONTROL_ALLOW_CREDENTIALS]
        return response
