"""REST plumbing shared by every API module: orjson output and the one error mapping."""

import logging
import re

import orjson
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from nocoplatform.errors import DomainError, InvalidInput, as_domain_error

log = logging.getLogger(__name__)

# The error answers every endpoint documents (OpenAPI), besides its own.
ERRORS = {
    400: OpenApiResponse(description="Invalid input: `{error, message}`"),
    401: OpenApiResponse(description="Missing or invalid token"),
    403: OpenApiResponse(description="Not allowed for your role or token"),
    404: OpenApiResponse(description="Not found (or not visible to you)"),
    409: OpenApiResponse(description="Conflict, e.g. SCHEMA_OUT_OF_SYNC"),
    429: OpenApiResponse(description="Too many connection attempts (non-admins)"),
    503: OpenApiResponse(description="The base's database cannot be reached"),
}


def json_body(request) -> dict:
    """The request's JSON body, which must be an object (INVALID_BODY otherwise)."""
    data = request.data
    if not isinstance(data, dict):
        raise InvalidInput(
            "The request body must be a JSON object.", code="INVALID_BODY"
        )
    return data


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return orjson.dumps(
            data,
            option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS,
            default=_default,
        )


class OrjsonParser(BaseParser):
    """JSON request bodies through orjson (several times faster than the json module on bulk
    writes of 1000 records). Invalid JSON is DRF's ParseError: 400 INVALID_JSON."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        data = stream.read() if stream is not None else b""
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}")


class JsonOnly(BaseContentNegotiation):
    """The API speaks JSON only: answer JSON whatever `Accept` says (as NocoDB does), without
    parsing the header on every request. Request bodies still go through the parsers."""

    def select_parser(self, request, parsers):
        for parser in parsers:
            if request.content_type.split(";")[0].strip() == parser.media_type:
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _default(value):
    from decimal import Decimal

    if isinstance(value, Decimal):
        # Always a JSON number, with the database's exact digits (docs/api.md, "Types"):
        # never a float's rounding, never a string for some values and a number for others.
        if not value.is_finite():
            return None
        return orjson.Fragment(format(value, "f").encode())
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, set):
        return sorted(value)
    return str(value)


_DRF_CODES = {
    exceptions.NotAuthenticated: ("AUTHENTICATION_REQUIRED", 401),
    exceptions.AuthenticationFailed: ("INVALID_TOKEN", 401),
    exceptions.PermissionDenied: ("FORBIDDEN", 403),
    exceptions.NotFound: ("NOT_FOUND", 404),
    exceptions.MethodNotAllowed: ("METHOD_NOT_ALLOWED", 405),
    exceptions.ParseError: ("INVALID_JSON", 400),
    exceptions.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", 415),
    exceptions.Throttled: ("TOO_MANY_REQUESTS", 429),
    exceptions.ValidationError: ("INVALID_INPUT", 400),
}


def error_response(code: str, message: str, status_code: int, details=None) -> Response:
    body = {"error": code, "message": message}
    if details:
        body["details"] = details
    return Response(body, status=status_code)


_BULK_ROW = re.compile(r"row (\d+): ")


def exception_handler(exc, context):
    exc = as_domain_error(exc) or exc
    if isinstance(exc, DomainError):
        details = dict(exc.details or {})
        row = _BULK_ROW.match(exc.message)
        if row and "row" not in details:
            # A bulk request's failing item, by its index in the array (from 0), as the
            # message's "row N: " says it (docs/api.md).
            details["row"] = int(row.group(1))
        response = error_response(exc.code, exc.message, exc.status, details or None)
        if exc.details.get("retry_after"):
            response["Retry-After"] = str(exc.details["retry_after"])
        return response
    if isinstance(exc, Http404):
        return error_response("NOT_FOUND", "Not found.", status.HTTP_404_NOT_FOUND)
    for cls, (code, status_code) in _DRF_CODES.items():
        if isinstance(exc, cls):
            detail = exc.detail
            if isinstance(exc, exceptions.ValidationError):
                return error_response(code, _first_message(detail), status_code, detail)
            if isinstance(
                exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated
            ):
                response = error_response(code, str(detail), status_code)
                response["WWW-Authenticate"] = 'Bearer realm="api"'
                return response
            return error_response(code, str(detail), exc.status_code or status_code)
    if isinstance(exc, exceptions.APIException):
        return error_response("ERROR", str(exc.detail), exc.status_code)
    return None


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            return f"{key}: {_first_message(value)}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)
