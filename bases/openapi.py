"""An OpenAPI 3 document per base, generated from its schema (tables, fields, links).

Paths carry the real table and link ids, as NocoDB's per-base Swagger does, so each table gets
request and response bodies typed from its own columns.

Names and descriptions are user text (typed by users, or read from an external database) while
OpenAPI's `description` is CommonMark, which viewers render with HTML (Swagger UI keeps `<img>`,
`<button>` and `<input>` after cleaning): user text goes into a description only through
`markdown_text`, so it shows as the characters typed. `title` and `summary` are plain text.
"""

from __future__ import annotations

from bases.export import FORMATS
from bases.fieldtypes import field_type_for
from bases.fieldtypes.html import markdown_text
from bases.models import Base, Field, Table
from bases.records import TableMeta
from permissions.checks import Actor, visible_tables

ERROR = {"$ref": "#/components/schemas/Error"}
PAGE_INFO = {
    "type": "object",
    "properties": {
        "totalRows": {
            "type": "integer",
            "description": "Exact, or an estimate when totalRowsEstimated is true",
        },
        "totalRowsEstimated": {"type": "boolean"},
        "page": {"type": "integer", "nullable": True},
        "pageSize": {"type": "integer"},
        "isFirstPage": {"type": "boolean"},
        "isLastPage": {"type": "boolean"},
        "next": {
            "type": "string",
            "description": "Cursor of the next page: pass as `cursor`",
        },
    },
}
# Record POSTs (bases/idempotency.py; docs/api.md).
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Any unique string (e.g. a UUID). A retry with the same key and body "
    "answers as the first request did (header `Idempotent-Replayed: true`) and creates "
    "nothing more; the same key with another body: 422 IDEMPOTENCY_KEY_REUSED; while the "
    "first request runs: 409 IDEMPOTENCY_KEY_IN_FLIGHT. Kept 24 h (NOCO_IDEMPOTENCY_TTL).",
}
HISTORY_PARAMS = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
    },
    {
        "name": "cursor",
        "in": "query",
        "schema": {"type": "string", "pattern": "^([0-9]{1,19})?$"},
        "description": "pageInfo.next of the previous page (empty: the first page)",
    },
]
HISTORY_PAGE = {
    "type": "object",
    "properties": {
        "list": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "fk_model_id": {"type": "string", "description": "table id"},
                    "row_id": {"type": "string", "description": "record id"},
                    "op_type": {"type": "string", "enum": ["DATA"]},
                    "op_sub_type": {
                        "type": "string",
                        "enum": [
                            "INSERT",
                            "UPDATE",
                            "DELETE",
                            "LINK_RECORD",
                            "UNLINK_RECORD",
                        ],
                    },
                    "kind": {
                        "type": "string",
                        "enum": ["insert", "update", "delete", "link", "unlink"],
                    },
                    "user": {
                        "type": "string",
                        "nullable": True,
                        "description": "the author's email (none for forms and the system)",
                    },
                    "actor": {
                        "type": "object",
                        "properties": {
                            "type": {
                                "type": "string",
                                "enum": ["user", "token", "form", "share", "system"],
                            },
                            "user_id": {"type": "integer", "nullable": True},
                            "token": {"type": "string", "nullable": True},
                            "form": {"type": "string", "nullable": True},
                            "display": {"type": "string"},
                        },
                    },
                    "created_at": {"type": "string", "format": "date-time"},
                    "changes": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "field_id": {"type": "string"},
                                "field": {"type": "string"},
                                "old": {"nullable": True},
                                "new": {"nullable": True},
                            },
                        },
                    },
                },
            },
        },
        "pageInfo": {
            "type": "object",
            "properties": {
                "pageSize": {"type": "integer"},
                "isFirstPage": {"type": "boolean"},
                "isLastPage": {"type": "boolean"},
                "next": {"type": "string", "nullable": True},
            },
        },
    },
}
WHERE_HELP = (
    "Filter: `(field,op,value)` joined by `~and` / `~or`, `~not` to negate, parentheses to group. "
    "Operators: eq, neq, gt, ge, lt, le, is, isnot, in, btw, nbtw, like, nlike, blank, notblank, "
    "null, notnull, empty, notempty, checked, notchecked, allof, anyof, nallof, nanyof, isWithin; "
    "date sub-operators today, tomorrow, yesterday, oneWeekAgo, oneMonthAgo, daysAgo,N, "
    "daysFromNow,N, exactDate,YYYY-MM-DD. Full rules: docs/where.md."
)


def field_schema(field: Field) -> dict:
    """A value's schema: asked of the field's type (bases/fieldtypes, `schema`)."""
    return field_type_for(field).schema(field)


def _name(table: Table) -> str:
    cleaned = (
        "".join(ch if ch.isalnum() else "_" for ch in table.title).strip("_") or "Table"
    )
    return f"{cleaned}_{table.pk}"


def _params(*names: str) -> list[dict]:
    known = {
        "where": {
            "name": "where",
            "in": "query",
            "schema": {"type": "string"},
            "description": WHERE_HELP,
        },
        "sort": {
            "name": "sort",
            "in": "query",
            "schema": {"type": "string"},
            "description": "Comma list of fields; `-` for descending.",
        },
        "fields": {
            "name": "fields",
            "in": "query",
            "schema": {"type": "string"},
            "description": "Comma list of fields to return.",
        },
        "limit": {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 25},
        },
        "offset": {
            "name": "offset",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        "cursor": {
            "name": "cursor",
            "in": "query",
            "schema": {"type": "string"},
            "description": "pageInfo.next of the previous page (empty: the first page)",
        },
        "viewId": {
            "name": "viewId",
            "in": "query",
            "schema": {"type": "string"},
            "description": "Apply a view's filter, sort and fields",
        },
        "recordId": {
            "name": "recordId",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "primary key (composite keys joined by ___)",
        },
    }
    return [known[n] for n in names]


def _export_file_response() -> dict:
    """The 200 of an endpoint that hands over an exported CSV or XLSX file."""
    return {
        "description": "The file, as an attachment",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            FORMATS["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        },
    }


def _errors(*codes: int) -> dict:
    text = {
        400: "Invalid input",
        401: "Missing or invalid token",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict: schema out of sync, or an Idempotency-Key in flight",
        422: "Refused by the database, or an Idempotency-Key sent with another body",
        503: "Database unavailable",
    }
    return {
        str(c): {
            "description": text[c],
            "content": {"application/json": {"schema": ERROR}},
        }
        for c in codes
    }


def _ref(name: str, kind: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}_{kind}"}


def _one_or_many(name: str, kind: str) -> dict:
    return {
        "oneOf": [
            _ref(name, kind),
            {
                "type": "array",
                "items": _ref(name, kind),
                "minItems": 1,
                "maxItems": 1000,
            },
        ]
    }


def _json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(schema: dict) -> dict:
    return {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": schema}},
        }
    }


# An export job (imports/export_api.py::job_json; docs/import-export.md).
EXPORT_JOB = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "status": {
            "type": "string",
            "enum": ["pending", "running", "done", "failed", "cancelled"],
        },
        "tableId": {"type": "string"},
        "viewId": {"type": "string", "nullable": True},
        "format": {"type": "string", "enum": ["csv", "xlsx"]},
        "fileName": {"type": "string"},
        "total": {"type": "integer", "nullable": True},
        "done": {"type": "integer"},
        "rate": {"type": "number", "nullable": True, "description": "rows/s"},
        "secondsLeft": {"type": "integer", "nullable": True},
        "error": {"type": "string", "nullable": True},
        "createdAt": {"type": "string", "format": "date-time"},
        "startedAt": {"type": "string", "format": "date-time", "nullable": True},
        "finishedAt": {"type": "string", "format": "date-time", "nullable": True},
        "downloadUrl": {"type": "string", "format": "uri", "nullable": True},
    },
}


def _export_job_paths(table: Table, name: str, tag: list) -> dict:
    """The export as a background job (imports/export_api.py): start, list, poll, file,
    cancel."""
    jobs = f"/api/v2/tables/{table.pk}/export/jobs"
    job_id = {
        "name": "jobId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }
    job = {"$ref": "#/components/schemas/ExportJob"}
    accepted = {
        "description": "The job",
        "content": {"application/json": {"schema": job}},
    }
    # GET …/export/jobs (imports/export_api.py, imports/joblist_api.py).
    job_list = {
        "type": "object",
        "properties": {
            "list": {"type": "array", "items": job, "description": "Newest first"},
            "pageInfo": {"$ref": "#/components/schemas/PageInfo"},
        },
    }
    statuses = EXPORT_JOB["properties"]["status"]["enum"]
    list_params = [
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
        },
        _params("offset")[0],
        {
            "name": "status",
            "in": "query",
            "schema": {"type": "string", "enum": statuses},
            "description": "Only the jobs in this status",
        },
    ]
    return {
        jobs: {
            "get": {
                "tags": tag,
                "summary": f"Your export jobs of {table.title}, newest first",
                "description": "The jobs you started (with any of your credentials), "
                "each as its own GET shows it; a bad `limit`, `offset` or `status` is "
                "400 INVALID_PARAMETER (docs/import-export.md).",
                "operationId": f"{name}_export_job_list",
                "parameters": list_params,
                "responses": {**_ok(job_list), **_errors(400, 401, 404)},
            },
            "post": {
                "tags": tag,
                "summary": f"Export {table.title} as a background job",
                "description": "The export's parameters, in a JSON body (or the query "
                "string); the file is the direct export's, written as you (through your "
                "token, with its limits). Poll the job for `done`/`total`, `rate`, "
                "`secondsLeft`; GET its `downloadUrl` once `status` is done "
                "(docs/import-export.md).",
                "operationId": f"{name}_export_job_create",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "viewId": {"type": "string"},
                                    "format": {
                                        "type": "string",
                                        "enum": ["csv", "xlsx"],
                                        "default": "csv",
                                    },
                                },
                            }
                        }
                    }
                },
                "responses": {"202": accepted, **_errors(400, 401, 404, 503)},
            },
        },
        f"{jobs}/{{jobId}}": {
            "get": {
                "tags": tag,
                "summary": f"An export job of {table.title}: status and progress",
                "operationId": f"{name}_export_job_read",
                "parameters": [job_id],
                "responses": {**_ok(job), **_errors(401, 404)},
            },
            "delete": {
                "tags": tag,
                "summary": f"Cancel an export job of {table.title}",
                "operationId": f"{name}_export_job_delete",
                "parameters": [job_id],
                "responses": {**_ok(job), **_errors(401, 404, 409)},
            },
        },
        f"{jobs}/{{jobId}}/cancel": {
            "post": {
                "tags": tag,
                "summary": f"Cancel an export job of {table.title}",
                "operationId": f"{name}_export_job_cancel",
                "parameters": [job_id],
                "responses": {**_ok(job), **_errors(401, 404, 409)},
            }
        },
        f"{jobs}/{{jobId}}/file": {
            "get": {
                "tags": tag,
                "summary": f"An export job's file of {table.title}",
                "operationId": f"{name}_export_job_file",
                "parameters": [job_id],
                "responses": {
                    "200": _export_file_response(),
                    **_errors(401, 404),
                },
            }
        },
    }


def base_document(base: Base, *, actor: Actor) -> dict:
    """The document as `actor` sees the base: only their tables and visible fields; fields
    read-only for them are left out of the request bodies."""
    schemas: dict = {
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string", "example": "FIELD_NOT_FOUND"},
                "message": {"type": "string"},
            },
        },
        "PageInfo": PAGE_INFO,
        "HistoryPage": HISTORY_PAGE,
        "ExportJob": EXPORT_JOB,
    }
    paths: dict = {}
    tables = base.tables.filter(is_junction=False).select_related("source")
    for table in visible_tables(actor, tables):
        meta = TableMeta.of(table, actor=actor)
        name = _name(table)
        record = {
            "type": "object",
            "properties": {f.title: field_schema(f) for f in meta.fields},
        }
        writable = {
            f.title: {k: v for k, v in field_schema(f).items() if k != "readOnly"}
            for f in meta.fields
            if f.column_name
            and f.id not in meta.read_only
            and not field_type_for(f).read_only
            and not (f.is_pk and f.is_auto)
        }
        required = [
            f.title
            for f in meta.fields
            if f.column_name
            and not f.is_nullable
            and not f.is_auto
            and f.default is None
            and f.title in writable
        ]
        request = {
            "type": "object",
            "properties": writable,
            **({"required": required} if required else {}),
        }
        pk_titles = [f.title for f in meta.pk]
        # The key by its title, or (one key column) as "Id", as NocoDB clients send it.
        key_required: dict = {"required": pk_titles} if pk_titles else {}
        if pk_titles and len(pk_titles) == 1 and pk_titles[0] != "Id":
            key_required = {"anyOf": [{"required": pk_titles}, {"required": ["Id"]}]}
        ids = {
            "type": "object",
            "properties": {f.title: field_schema(f) for f in meta.pk},
            **key_required,
        }
        # A PATCH changes only the fields sent: nothing but the primary key is required.
        key_props = {
            f.title: {k: v for k, v in field_schema(f).items() if k != "readOnly"}
            for f in meta.pk
        }
        update = {
            "type": "object",
            "properties": {**writable, **key_props},
            **key_required,
        }
        schemas[f"{name}_Record"] = record
        schemas[f"{name}_Request"] = request
        schemas[f"{name}_Id"] = ids
        schemas[f"{name}_Update"] = update
        tag = [table.title]
        base_path = f"/api/v2/tables/{table.pk}/records"
        list_schema = {
            "type": "object",
            "properties": {
                "list": {"type": "array", "items": _ref(name, "Record")},
                "pageInfo": {"$ref": "#/components/schemas/PageInfo"},
            },
        }
        entry = {
            "get": {
                "tags": tag,
                "summary": f"List {table.title}",
                "operationId": f"{name}_list",
                "parameters": _params(
                    "where", "sort", "fields", "limit", "offset", "cursor", "viewId"
                ),
                "responses": {**_ok(list_schema), **_errors(400, 401, 404, 409, 503)},
            },
        }
        if not table.read_only_reason:
            entry["post"] = {
                "tags": tag,
                "summary": f"Create {table.title} (one or up to 1000)",
                "operationId": f"{name}_create",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _json_body(_one_or_many(name, "Request")),
                "responses": {
                    **_ok(_one_or_many(name, "Id")),
                    **_errors(400, 401, 403, 404, 409, 422, 503),
                },
            }
            entry["patch"] = {
                "tags": tag,
                "summary": f"Update {table.title}",
                "operationId": f"{name}_update",
                "requestBody": _json_body(_one_or_many(name, "Update")),
                "responses": {
                    **_ok(_one_or_many(name, "Id")),
                    **_errors(400, 401, 403, 404, 422, 503),
                },
            }
            entry["delete"] = {
                "tags": tag,
                "summary": f"Delete {table.title}",
                "operationId": f"{name}_delete",
                "requestBody": _json_body(_one_or_many(name, "Id")),
                "responses": {
                    **_ok(_one_or_many(name, "Id")),
                    **_errors(400, 401, 403, 404, 422, 503),
                },
            }
        paths[base_path] = entry
        paths[f"{base_path}/count"] = {
            "get": {
                "tags": tag,
                "summary": f"Count {table.title}",
                "operationId": f"{name}_count",
                "parameters": _params("where", "viewId"),
                "responses": {
                    **_ok(
                        {"type": "object", "properties": {"count": {"type": "integer"}}}
                    ),
                    **_errors(400, 401, 404, 503),
                },
            }
        }
        paths[f"/api/v2/tables/{table.pk}/export"] = {
            "get": {
                "tags": tag,
                "summary": f"Export {table.title} as CSV or XLSX",
                "description": "The view's filter, sort and shown fields (without "
                "`viewId`: every field you may see), streamed page by page; text that "
                "would start a spreadsheet formula gets a leading `'` "
                "(docs/import-export.md).",
                "operationId": f"{name}_export",
                "parameters": [
                    *_params("viewId"),
                    {
                        "name": "format",
                        "in": "query",
                        "schema": {
                            "type": "string",
                            "enum": ["csv", "xlsx"],
                            "default": "csv",
                        },
                    },
                ],
                "responses": {
                    "200": _export_file_response(),
                    **_errors(400, 401, 404, 503),
                },
            }
        }
        paths.update(_export_job_paths(table, name, tag))
        if meta.pk:
            paths[f"{base_path}/{{recordId}}"] = {
                "get": {
                    "tags": tag,
                    "summary": f"Read one {table.title} record",
                    "operationId": f"{name}_read",
                    "parameters": _params("recordId", "fields", "viewId"),
                    "responses": {
                        **_ok(_ref(name, "Record")),
                        **_errors(400, 401, 404, 503),
                    },
                }
            }
            paths[f"{base_path}/{{recordId}}/history"] = {
                "get": {
                    "tags": tag,
                    "summary": f"History of one {table.title} record, newest first",
                    "description": "Who changed which field, when, with old and new "
                    "values; fields hidden from you are left out (docs/history.md).",
                    "operationId": f"{name}_history",
                    "parameters": [*_params("recordId"), *HISTORY_PARAMS],
                    "responses": {
                        **_ok({"$ref": "#/components/schemas/HistoryPage"}),
                        **_errors(400, 401, 404),
                    },
                }
            }
        for link in (f for f in meta.fields if field_type_for(f).is_link and meta.pk):
            related = link.related_table
            link_path = (
                f"/api/v2/tables/{table.pk}/links/{link.pk}/records/{{recordId}}"
            )
            target = {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": f"a {markdown_text(related.title)} record id, "
                    'e.g. `{"Id": 1}`',
                },
            }
            lid = f"{name}_{link.pk}"
            paths[link_path] = {
                "get": {
                    "tags": tag,
                    "summary": f"{link.title}: list linked {related.title}",
                    "operationId": f"{lid}_list",
                    "parameters": _params(
                        "recordId",
                        "where",
                        "sort",
                        "fields",
                        "limit",
                        "offset",
                        "cursor",
                    ),
                    "responses": {
                        **_ok(
                            {
                                "type": "object",
                                "properties": {
                                    "list": {
                                        "type": "array",
                                        "items": {"type": "object"},
                                    },
                                    "pageInfo": {
                                        "$ref": "#/components/schemas/PageInfo"
                                    },
                                },
                            }
                        ),
                        **_errors(400, 401, 404, 503),
                    },
                },
                "post": {
                    "tags": tag,
                    "summary": f"{link.title}: link {related.title}",
                    "operationId": f"{lid}_link",
                    "parameters": _params("recordId"),
                    "requestBody": _json_body(target),
                    "responses": {
                        **_ok({"type": "boolean"}),
                        **_errors(400, 401, 403, 404, 503),
                    },
                },
                "delete": {
                    "tags": tag,
                    "summary": f"{link.title}: unlink {related.title}",
                    "operationId": f"{lid}_unlink",
                    "parameters": _params("recordId"),
                    "requestBody": _json_body(target),
                    "responses": {
                        **_ok({"type": "boolean"}),
                        **_errors(400, 401, 403, 404, 503),
                    },
                },
            }
    paths[f"/api/v2/bases/{base.pk}/graphql"] = {
        "post": {
            "tags": ["GraphQL"],
            "summary": "GraphQL over this base's records",
            "description": "The same records, rules and side effects as the paths above, "
            "as GraphQL: the schema is the base as you see it (introspect it, or open the "
            "base's GraphiQL page). Answers `{data, errors}`; each error has "
            "`extensions.code`. Schema shape and limits: docs/graphql.md.",
            "operationId": "graphql",
            "requestBody": _json_body(
                {
                    "type": "object",
                    "required": ["query"],
                    "properties": {
                        "query": {"type": "string", "example": "{ __typename }"},
                        "variables": {"type": "object", "nullable": True},
                        "operationName": {"type": "string", "nullable": True},
                    },
                }
            ),
            "responses": {
                **_ok(
                    {
                        "type": "object",
                        "properties": {
                            "data": {"type": "object", "nullable": True},
                            "errors": {"type": "array", "items": {"type": "object"}},
                        },
                    }
                ),
                "400": {
                    "description": "Syntax, unknown fields, limits: `{errors}`; a body "
                    "that is not `{query}`: `{error, message}`"
                },
                **_errors(401, 403, 404),
            },
        }
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{base.title} — records API",
            "version": "2",
            "description": f"Records of the base '{markdown_text(base.title)}' in NocoDB's "
            "v2 dialect. Errors are `{error, message}`.",
        },
        "servers": [{"url": "/"}],
        "security": [{"xcToken": []}, {"bearerToken": []}, {"externalJwt": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "xcToken": {"type": "apiKey", "in": "header", "name": "xc-token"},
                "bearerToken": {"type": "http", "scheme": "bearer"},
                # An identity provider's access token (NOCO_JWT_ISSUERS, docs/integration.md).
                "externalJwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                },
            },
        },
    }
