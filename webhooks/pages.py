"""HTML pages: a table's webhooks, and one webhook with its settings and delivery log.

Thin: parse the form, call webhooks.services, render. Problems are shown next to the form with
the typed values kept; the secret is shown once, on the page answering its creation/rotation.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from bases import selectors
from nocoplatform.errors import DomainError
from permissions.checks import require
from permissions.middleware import HtmxHttpRequest
from webhooks import dispatcher, services
from webhooks.forms import WebhookForm


def _table(request: HtmxHttpRequest, base_id: str, table_id: str):
    table = selectors.table_get(actor=request.actor, table_id=table_id)
    if table.base_id != base_id:
        raise Http404("Table not found.")
    require(request.actor, "webhooks.manage", table)
    return table


def _hook(request: HtmxHttpRequest, table, hook_id: str):
    hook = services.webhook_get(actor=request.actor, webhook_id=hook_id)
    if hook.table_id != table.pk:
        raise Http404("Webhook not found.")
    return hook


def _columns(table):
    return [f for f in table.fields.all() if f.column_name]


@login_required
def webhook_list_page(
    request: HtmxHttpRequest, base_id: str, table_id: str
) -> HttpResponse:
    table = _table(request, base_id, table_id)
    dispatcher.start()  # the embedded runner also picks up events left from a restart
    form = WebhookForm(
        request.POST or None,
        fields=_columns(table),
        initial={"events": ["insert"], "method": "POST"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            hook, secret = services.webhook_create(
                actor=request.actor, table=table, data=form.as_data()
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return _show_secret_once(request, hook, secret)
    hooks = services.webhook_list(actor=request.actor, table=table)
    return render(
        request,
        "webhooks/list.html",
        {"base": table.base, "table": table, "hooks": hooks, "form": form},
    )


@login_required
def webhook_page(
    request: HtmxHttpRequest, base_id: str, table_id: str, hook_id: str
) -> HttpResponse:
    table = _table(request, base_id, table_id)
    hook = _hook(request, table, hook_id)
    form = None
    if request.method == "POST":
        form = WebhookForm(request.POST, fields=_columns(table))
        if form.is_valid():
            try:
                services.webhook_update(
                    actor=request.actor, webhook=hook, data=form.as_data()
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Webhook saved.")
                return redirect("webhook", base_id, table_id, hook_id)
    return _detail(request, table, hook, form=form)


def _show_secret_once(request: HtmxHttpRequest, hook, secret: str) -> HttpResponse:
    """Redirect (a reload must not create or rotate again), the secret riding in the session
    until the next page shows it — once."""
    request.session[f"webhook-secret-{hook.pk}"] = secret
    return redirect("webhook", hook.table.base_id, hook.table_id, hook.pk)


def _detail(request, table, hook, *, form=None, status=200):
    new_secret = request.session.pop(f"webhook-secret-{hook.pk}", None)
    form = form or WebhookForm(
        fields=_columns(table), initial=WebhookForm.initial_of(hook)
    )
    deliveries = services.delivery_list(actor=request.actor, webhook=hook, limit=50)
    return render(
        request,
        "webhooks/detail.html",
        {
            "base": table.base,
            "table": table,
            "hook": hook,
            "form": form,
            "deliveries": deliveries,
            "new_secret": new_secret,
        },
        status=status,
    )


@login_required
@require_POST
def webhook_action(
    request: HtmxHttpRequest, base_id: str, table_id: str, hook_id: str, action: str
) -> HttpResponse:
    table = _table(request, base_id, table_id)
    hook = _hook(request, table, hook_id)
    actor = request.actor
    if action == "test":
        entry = services.webhook_test(actor=actor, webhook=hook)
        return render(request, "webhooks/detail.html#test-result", {"entry": entry})
    try:
        if action == "secret":
            secret = services.webhook_rotate_secret(actor=actor, webhook=hook)
            return _show_secret_once(request, hook, secret)
        if action == "delete":
            services.webhook_delete(actor=actor, webhook=hook)
            messages.success(request, f"Webhook '{hook.title}' deleted.")
            return redirect("webhooks", base_id, table_id)
        if action == "resend":
            services.webhook_resend(
                actor=actor, webhook=hook, log_id=int(request.POST.get("log_id", 0))
            )
            messages.success(request, "Queued to be sent again.")
        elif action == "trigger":
            services.webhook_trigger(
                actor=actor, webhook=hook, record_id=request.POST.get("row_id", "")
            )
            messages.success(request, "Row queued to be sent.")
        else:
            raise Http404("Unknown action.")
    except (DomainError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    return redirect("webhook", base_id, table_id, hook_id)


@login_required
def row_send_panel(
    request: HtmxHttpRequest, base_id: str, table_id: str, record_id: str
) -> HttpResponse:
    """The expanded row's "send this row" trigger: the table's active webhooks, one button each.

    POST `hook` sends the row as it is now (event `records.manual.trigger`) through the outbox,
    like any event; the panel answers again with what happened.
    """
    table = _table(request, base_id, table_id)
    hooks = services.webhook_list(actor=request.actor, table=table)
    sent, error = None, None
    if request.method == "POST":
        hook = _hook(request, table, request.POST.get("hook", ""))
        try:
            services.webhook_trigger(
                actor=request.actor, webhook=hook, record_id=record_id
            )
            sent = hook
        except DomainError as exc:
            error = exc.message
    return render(
        request,
        "webhooks/row_send.html",
        {
            "base_id": base_id,
            "table": table,
            "record_id": record_id,
            "hooks": [h for h in hooks if h.active],
            "sent": sent,
            "error": error,
        },
    )
