"""GET …/grid/live?view=<id>&ids=1,2,3[&q=…]: the given rows as this user sees them in the view.

After a realtime message the page asks here for the rows it names. The answer is
`{"rows": {"<id>": "<tr …>"}, "gone": ["<id>", …]}`: a row is in `rows` when it exists AND still
matches the view's filter (and the toolbar's search) — decided by the records service with the
one query layer, never in the browser — and in `gone` otherwise (deleted, filtered out, or never
visible to this user). Rows are rendered exactly like the grid's windows (views/grid/), with the
user's own fields and read-only flags. Gallery, kanban and calendar pages do not ask: their
socket is sent the cards themselves (views/realtime/live.py).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from bases import records
from bases.query.where import KeysIn
from nocoplatform.errors import InvalidInput
from permissions.middleware import HtmxHttpRequest
from views.grid.common import (
    current_view,
    grid_columns,
    grid_rows,
    grid_table,
    read_fields,
    search_text,
    writable,
)

MAX_IDS = 500


def ids_node(meta, ids: list[str]) -> KeysIn:
    """The rows with these record ids, as a `where` node for list_records."""
    pk = meta.require_pk()
    return KeysIn(tuple(pk), tuple(tuple(meta.parse_record_id(i)) for i in ids))


@login_required
@require_GET
def live_rows(request: HtmxHttpRequest, base_id: str, table_id: str) -> JsonResponse:
    table = grid_table(request, base_id, table_id)
    view = current_view(request, table)
    actor = request.actor
    meta = records.TableMeta.of(table, actor=actor)
    ids = [i for i in (request.GET.get("ids") or "").split(",") if i]
    if not ids:
        raise InvalidInput("Name the rows: `ids=1,2,3`.", code="INVALID_PARAMETER")
    if len(ids) > MAX_IDS:
        raise InvalidInput(
            f"At most {MAX_IDS} ids per request.", code="INVALID_PARAMETER"
        )
    ids = list(dict.fromkeys(ids))
    columns = grid_columns(meta, view)
    q = search_text(request)
    page = records.list_records(
        table,
        {"limit": str(len(ids)), "fields": read_fields(meta, columns)},
        view=view,
        actor=actor,
        where=ids_node(meta, ids),
        **({"search": q} if q else {}),
    )
    rows = grid_rows(
        meta,
        columns,
        page.rows,
        editable=writable(request, table),
        actor=request.actor,
    )
    html = {str(r.id): str(r.html) for r in rows}
    return JsonResponse(
        {"rows": html, "gone": [i for i in ids if i not in html]},
        headers={"Cache-Control": "no-store"},
    )
