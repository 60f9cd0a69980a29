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


class StatementTimeout(DomainError):
    """A user-database statement ran past its timeout and was stopped (bases/connections/timeouts.py).

    504: the database did not answer in time. Unlike 503, asking again soon will not help;
    a narrower request (filters, fewer rows) or a higher limit will.
    """

    status = 504
    code = "STATEMENT_TIMEOUT"


def is_statement_timeout(exc: BaseException) -> bool:
    """Whether a database error (Django's or the driver's) is a statement stopped at its
    timeout: PostgreSQL's statement_timeout, MariaDB's max_statement_time, MySQL's
    max_execution_time, or the SQLite progress handler's interrupt."""
    cause = exc.__cause__ or exc
    if getattr(cause, "sqlstate", None) == "57014":  # query_canceled
        return "statement timeout" in str(cause)  # not a cancel by someone
    if getattr(cause, "sqlite_errorname", None) == "SQLITE_INTERRUPT":
        return True  # only the timeout's progress handler interrupts user databases
    args = getattr(cause, "args", ())
    mysql = type(cause).__module__.startswith("MySQLdb")
    return mysql and bool(args) and args[0] in (1969, 3024)


def statement_timeout_error(
    *, setting: str = "NOCO_STATEMENT_TIMEOUT"
) -> StatementTimeout:
    """The answer to a statement stopped at its timeout: names the limit, not the query."""
    from django.conf import settings

    seconds = getattr(settings, setting)
    return StatementTimeout(
        f"The database did not answer within the statement timeout ({seconds:g} s, "
        f"{setting}) and the statement was stopped. Narrow the request (a filter, fewer "
        "rows or fields), or ask an administrator to raise the limit.",
        details={"timeout_seconds": seconds, "setting": setting},
    )


def as_domain_error(exc: BaseException) -> DomainError | None:
    """The domain error a non-domain exception stands for, if any (the last net: services
    map their own database errors; a timeout that slipped past them still answers 504)."""
    if isinstance(exc, DomainError):
        return exc
    from django.db import DatabaseError

    if isinstance(exc, DatabaseError) and is_statement_timeout(exc):
        return statement_timeout_error()
    return None


class DomainErrorMiddleware:
    """Render DomainErrors raised by page views as a friendly page with the right status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        exception = as_domain_error(exception)
        if exception is None or request.path.startswith("/api/"):
            return None
        template = (
            "views/error_partial.html"
            if getattr(request, "htmx", False)
            else "views/error.html"
        )
        return render(request, template, {"error": exception}, status=exception.status)
