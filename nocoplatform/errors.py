"""Domain errors with stable codes, and their one mapping to HTTP.

Services raise these; the API's exception handler and the page middleware turn them into
`{"error": CODE, "message": ...}` or an error page. Nothing else maps errors to status codes.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class DomainError(Exception):
    status = 400
    code = "BAD_REQUEST"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict | None = None
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}

    def as_dict(self) -> dict:
        body = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(DomainError):
    status = 400
    code = "INVALID_INPUT"


class NotAuthenticated(DomainError):
    status = 401
    code = "AUTHENTICATION_REQUIRED"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"


class SchemaOutOfSync(Conflict):
    code = "SCHEMA_OUT_OF_SYNC"


class PreconditionFailed(DomainError):
    """An `If-Match` row version that is no longer current (someone changed the row)."""

    status = 412
    code = "PRECONDITION_FAILED"


class Unprocessable(DomainError):
    status = 422
    code = "UNPROCESSABLE"


class RateLimited(DomainError):
    status = 429
    code = "TOO_MANY_REQUESTS"


class DatabaseUnavailable(DomainError):
    status = 503
    code = "DATABASE_UNAVAILABLE"


class DomainErrorMiddleware:
    """Render DomainErrors raised by page views as a friendly page with the right status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        template = (
            "views/error_partial.html"
            if getattr(request, "htmx", False)
            else "views/error.html"
        )
        return render(request, template, {"error": exception}, status=exception.status)
