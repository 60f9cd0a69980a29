"""The activity page of a base (owners): filters, pages of 100, CSV export."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse

from audit import log
from audit.api import csv_response
from bases.pages import base_context
from nocoplatform.errors import DomainError
from permissions.middleware import HtmxHttpRequest

PAGE = 100


@login_required
def activity(request: HtmxHttpRequest, base_id: str) -> HttpResponse:
    from django.shortcuts import render

    ctx = base_context(request, base_id, operation="members.audit")
    q = request.GET
    error = ""
    try:
        filters = log.parse_filters(q)
    except DomainError as exc:
        error, filters = exc.message, {}
    entries = log.entries(ctx["base"], **filters)
    if q.get("format") == "csv" and not error:
        return csv_response(entries, ctx["base"])
    try:
        page = max(int(q.get("page") or 1), 1)
    except ValueError:
        page = 1
    rows = list(entries[(page - 1) * PAGE : page * PAGE + 1])
    params = q.copy()
    params.pop("page", None)
    ctx.update(
        {
            "entries": [(e, log.ACTIONS.get(e.action, e.action)) for e in rows[:PAGE]],
            "page": page,
            "has_next": len(rows) > PAGE,
            "query": params.urlencode(),
            "kinds": list(log.FAMILIES),
            "typed": {k: q.get(k, "") for k in ("kind", "who", "from", "to")},
            "error": error,
        }
    )
    return render(request, "audit/activity.html", ctx)
