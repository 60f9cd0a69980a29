"""One GraphQL request: the body checked, the caller's schema, parse → validate → limits →
execute, and errors as GraphQL errors with the domain's stable codes (never a 500 for bad
input)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from graphql import (
    GraphQLError,
    GraphQLSchema,
    execute_sync,
    parse,
    validate,
)

from bases.gql import limits
from bases.gql.executor import RecordExecutor
from bases.gql.schema import schema_for
from nocoplatform.errors import DomainError, InvalidInput
from permissions.checks import Actor

log = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 100_000
MAX_TOKENS = 20_000  # graphql-core stops parsing past this many tokens
WRITE_SUFFIXES = (
    "_create",
    "_create_many",
    "_update",
    "_update_many",
    "_delete",
    "_delete_many",
)  # characters

# (schema, query text) -> the parsed and validated document: a client sends the same few
# queries again and again, and validation costs more than the page it asks for.
_documents: OrderedDict = OrderedDict()
_lock = threading.Lock()
MAX_DOCUMENTS = 500


def _error(message: str, code: str) -> dict:
    return {"message": message, "extensions": {"code": code}}


def _body(data) -> tuple[str, dict | None, str | None]:
    if not isinstance(data, dict):
        raise InvalidInput(
            "The body must be a JSON object with `query`.", code="INVALID_BODY"
        )
    query = data.get("query")
    variables = data.get("variables")
    operation = data.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("`query` must be a non-empty string.", code="INVALID_BODY")
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidInput(
            f"`query` is longer than {MAX_QUERY_LENGTH} characters.",
            code="INVALID_BODY",
        )
    if variables is not None and not isinstance(variables, dict):
        raise InvalidInput("`variables` must be an object.", code="INVALID_BODY")
    if operation is not None and not isinstance(operation, str):
        raise InvalidInput("`operationName` must be a string.", code="INVALID_BODY")
    return query, variables, operation


def _document(schema: GraphQLSchema, query: str):
    key = (id(schema), query)
    with _lock:
        hit = _documents.get(key)
        if hit is not None and hit[0] is schema:
            _documents.move_to_end(key)
            return hit[1], []
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
        errors = validate(schema, document)
    except GraphQLError as exc:
        exc.extensions = {"code": "GRAPHQL_PARSE_FAILED"}
        return None, [exc]
    except RecursionError:
        # Thousands of nested brackets: deeper than any depth limit, refused as such.
        return None, [
            limits.LimitExceeded("The query nests too deep.", "QUERY_TOO_DEEP")
        ]
    if errors:
        return None, errors
    with _lock:
        _documents[key] = (schema, document)
        while len(_documents) > MAX_DOCUMENTS:
            _documents.popitem(last=False)
    return document, []


def _format(error: GraphQLError) -> dict:
    out = error.formatted
    original = error.original_error
    if isinstance(original, DomainError):
        out["message"] = original.message
        out["extensions"] = {"code": original.code, **(original.details or {})}
    elif original is not None and not isinstance(original, GraphQLError):
        log.error("GraphQL resolver failed", exc_info=original)
        out["message"] = "Internal error."
        out["extensions"] = {"code": "INTERNAL_ERROR"}
    else:
        out.setdefault("extensions", {}).setdefault("code", "GRAPHQL_VALIDATION_FAILED")
    return out


def _refused_write(schema, specs, query: str, operation: str | None) -> str | None:
    """Why a mutation failed validation, when it is because the caller may not write: it
    names a table they can read with a write their role or token does not allow (such
    mutations are left out of their schema). Answered 403, as REST does, not 400."""
    from graphql import FieldNode, OperationDefinitionNode

    try:
        document = parse(query)
    except GraphQLError:
        return None
    allowed = schema.mutation_type.fields if schema.mutation_type else {}
    for op in document.definitions:
        if not isinstance(op, OperationDefinitionNode) or op.operation.value != (
            "mutation"
        ):
            continue
        if operation is not None and (op.name is None or op.name.value != operation):
            continue
        for sel in op.selection_set.selections:
            if not isinstance(sel, FieldNode) or sel.name.value in allowed:
                continue
            for spec in specs.values():
                for suffix in WRITE_SUFFIXES:
                    if sel.name.value == spec.root + suffix:
                        return (
                            f"Your role may not {suffix.split('_')[1]} records of "
                            f"'{spec.meta.table.title}'."
                        )
    return None


def run(base_id: str, actor: Actor, data) -> tuple[int, dict]:
    """(HTTP status, response body) for one request body. Request errors (syntax, unknown
    fields, limits) are 400 with `errors` and no `data`; errors while resolving leave the
    other fields' data, with status 200, as GraphQL over HTTP says."""
    schema, context = schema_for(base_id, actor)
    query, variables, operation = _body(data)
    document, errors = _document(schema, query)
    if errors:
        refused = _refused_write(schema, context["specs"], query, operation)
        if refused:
            return 403, {"errors": [_error(refused, "FORBIDDEN")]}
        return 400, {"errors": [_format(e) for e in errors]}
    try:
        limits.check(schema, document, operation, variables)
    except limits.LimitExceeded as exc:
        return 400, {"errors": [exc.formatted]}
    result = execute_sync(
        schema,
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation,
        executor_class=RecordExecutor,
    )
    body: dict = {}
    if result.errors:
        body["errors"] = [_format(e) for e in result.errors]
    if result.data is None and not any(e.path for e in result.errors or ()):
        return 400, body  # nothing ran: bad variables or an unknown operation
    body["data"] = result.data
    return 200, body
