"""Webhooks REST API on NocoDB's v2 meta paths: /api/v2/meta/tables/{tableId}/hooks and
/api/v2/meta/hooks/{hookId} (+ test, logs, resend, secret rotation, manual trigger)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import selectors
from bases.query.params import int_param
from nocoplatform.api import ERRORS, json_body
from nocoplatform.errors import InvalidInput
from webhooks import services
from webhooks.models import Webhook, WebhookDelivery

TAGS = ["Webhooks"]
BODY_DOC = (
    "`{title, url, events: [insert|update|delete], method?: POST|PUT|PATCH|GET, "
    "headers?: {name: value}, condition?: where filter e.g. `(Status,eq,Done)`, "
    "condition_mode?: becomes_true|every_match, watch_fields?: [field id or title], "
    "batch_size?: 1 (one call per row) .. NOCO_WEBHOOKS_BATCH_LIMIT, active?: bool}`. "
    "NocoDB's shape (`operation`, `notification.payload.{method, path, headers}`) is accepted too."
)


# NocoDB clients send `{title, event: "after", operation: [...], notification: {type: "URL",
# payload: {method, path, headers: [{name, value, enabled}]}}, active, ...}`: accepted as an
# alias of our flat body, their other keys (version, env, async, description...) ignored.
NOCODB_ONLY = {
    "event",
    "operation",
    "notification",
    "version",
    "env",
    "async",
    "payload",
    "type",
    "description",
    "base_id",
    "source_id",
    "trigger_field",
    "trigger_fields",
}


def from_nocodb(data: dict) -> dict:
    if not any(k in data for k in ("operation", "notification", "event")):
        return data
    out = {k: v for k, v in data.items() if k not in NOCODB_ONLY}
    if isinstance(data.get("condition"), bool):
        out.pop("condition")  # NocoDB's flag; its filters live elsewhere
    ops = data.get("operation")
    if ops is not None:
        ops = [ops] if isinstance(ops, str) else ops
        if not isinstance(ops, list):
            raise InvalidInput("`operation` is a list of insert, update, delete.")
        out["events"] = [str(o).removeprefix("bulk_") for o in ops if o != "manual"]
    payload = (
        (data.get("notification") or {}).get("payload")
        if isinstance(data.get("notification"), dict)
        else None
    )
    if isinstance(payload, dict):
        if "method" in payload:
            out["method"] = payload["method"]
        if "path" in payload:
            out["url"] = payload["path"]
        headers = payload.get("headers")
        if isinstance(headers, list):
            out["headers"] = {
                h.get("name"): h.get("value", "")
                for h in headers
                if isinstance(h, dict) and h.get("name") and h.get("enabled", True)
            }
    return out


def webhook_json(hook: Webhook) -> dict:
    return {
        "id": hook.pk,
        "fk_model_id": hook.table_id,
        "title": hook.title,
        "event": "after",
        "operation": hook.events,
        "notification": {
            "type": "URL",
            "payload": {
                "method": hook.method,
                "path": hook.url,
                "headers": [
                    {"name": k, "value": v, "enabled": True}
                    for k, v in (hook.headers or {}).items()
                ],
            },
        },
        "events": hook.events,
        "method": hook.method,
        "url": hook.url,
        "headers": hook.headers,
        "condition": hook.condition,
        "condition_mode": hook.condition_mode,
        "watch_fields": hook.watch_fields,
        "batch_size": hook.batch_size,
        "active": hook.active,
        "disabled_reason": hook.disabled_reason,
        "consecutive_failures": hook.consecutive_failures,
        "created_at": hook.created_at,
        "updated_at": hook.updated_at,
    }


def delivery_json(entry: WebhookDelivery) -> dict:
    return {
        "id": entry.pk,
        "event_id": str(entry.event_id) if entry.event_id else None,
        "event_type": entry.event_type,
        "attempt": entry.attempt,
        "url": entry.url,
        "status": entry.status_code,
        "ok": entry.ok,
        "duration_ms": entry.duration_ms,
        "response": entry.response_excerpt,
        "error": entry.error,
        "created_at": entry.created_at,
    }


def _hook(request: Request, hook_id: str) -> Webhook:
    return services.webhook_get(actor=request.actor, webhook_id=hook_id)


class HookListApi(APIView):
    @extend_schema(
        summary="A table's webhooks",
        operation_id="meta_tables_hooks_list",
        responses={200: dict, **ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, table_id: str) -> Response:
        actor = request.actor
        table = selectors.table_get(actor=actor, table_id=table_id)
        hooks = services.webhook_list(actor=actor, table=table)
        return Response(
            {
                "list": [webhook_json(h) for h in hooks],
                "pageInfo": {"totalRows": len(hooks)},
            }
        )

    @extend_schema(
        summary="Create a webhook (the answer carries its signing secret, shown once)",
        description=BODY_DOC,
        operation_id="meta_tables_hooks_create",
        request=dict,
        responses={201: dict, **ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, table_id: str) -> Response:
        actor = request.actor
        table = selectors.table_get(actor=actor, table_id=table_id)
        hook, secret = services.webhook_create(
            actor=actor, table=table, data=from_nocodb(json_body(request))
        )
        return Response(webhook_json(hook) | {"secret": secret}, status=201)


class HookDetailApi(APIView):
    @extend_schema(summary="Read a webhook", responses={200: dict, **ERRORS}, tags=TAGS)
    def get(self, request: Request, hook_id: str) -> Response:
        return Response(webhook_json(_hook(request, hook_id)))

    @extend_schema(
        summary="Change a webhook (switching it on clears an automatic switch-off)",
        description=BODY_DOC,
        request=dict,
        responses={200: dict, **ERRORS},
        tags=TAGS,
    )
    def patch(self, request: Request, hook_id: str) -> Response:
        hook = services.webhook_update(
            actor=request.actor,
            webhook=_hook(request, hook_id),
            data=from_nocodb(json_body(request)),
        )
        return Response(webhook_json(hook))

    @extend_schema(
        summary="Change a webhook (PUT, as NocoDB clients send it; same as PATCH)",
        description=BODY_DOC,
        request=dict,
        responses={200: dict, **ERRORS},
        tags=TAGS,
    )
    def put(self, request: Request, hook_id: str) -> Response:
        return self.patch(request, hook_id)

    @extend_schema(
        summary="Delete a webhook and its undelivered events",
        responses={200: dict, **ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, hook_id: str) -> Response:
        services.webhook_delete(actor=request.actor, webhook=_hook(request, hook_id))
        return Response({"deleted": True})


class HookTestApi(APIView):
    @extend_schema(
        summary="Send a sample payload now and show the receiver's answer",
        request=None,
        responses={200: dict, **ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, hook_id: str) -> Response:
        entry = services.webhook_test(
            actor=request.actor, webhook=_hook(request, hook_id)
        )
        return Response(delivery_json(entry))


class HookSecretApi(APIView):
    @extend_schema(
        summary="Rotate the signing secret (the new one is shown once)",
        request=None,
        responses={200: dict, **ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, hook_id: str) -> Response:
        secret = services.webhook_rotate_secret(
            actor=request.actor, webhook=_hook(request, hook_id)
        )
        return Response({"secret": secret})


class HookLogsApi(APIView):
    @extend_schema(
        summary="The delivery log, newest first",
        parameters=[
            OpenApiParameter("limit", int, description="1–200, default 50"),
            OpenApiParameter("offset", int, description="Entries to skip"),
        ],
        responses={200: dict, **ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, hook_id: str) -> Response:
        hook = _hook(request, hook_id)
        limit = int_param(request.query_params, ("limit",), 50, low=1, high=200)
        offset = int_param(request.query_params, ("offset",), 0, low=0, high=10**9)
        entries = services.delivery_list(
            actor=request.actor, webhook=hook, limit=limit, offset=offset
        )
        return Response(
            {
                "list": [delivery_json(e) for e in entries],
                "pageInfo": {"pageSize": limit, "offset": offset},
            }
        )


class HookResendApi(APIView):
    @extend_schema(
        summary="Deliver a logged event again (same event id)",
        request=None,
        responses={200: dict, **ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, hook_id: str, log_id: int) -> Response:
        event = services.webhook_resend(
            actor=request.actor,
            webhook=_hook(request, hook_id),
            log_id=log_id,
        )
        return Response({"event_id": str(event.pk), "status": event.status})


class HookTriggerApi(APIView):
    @extend_schema(
        summary="Send one record to the webhook now (manual trigger)",
        description="Body: `{rowId}`. The event type is `records.manual.trigger`.",
        request=dict,
        responses={200: dict, **ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, hook_id: str) -> Response:
        data = json_body(request)
        if data.get("rowId") in (None, ""):
            raise InvalidInput("Send `{rowId}` of the record to send.")
        event = services.webhook_trigger(
            actor=request.actor,
            webhook=_hook(request, hook_id),
            record_id=data["rowId"],
        )
        return Response({"event_id": str(event.pk), "status": event.status})
