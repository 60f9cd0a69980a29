"""HTML pages: a base's Members page, the invite link, a row's comment thread (htmx partial).

Thin: parse the POST, call a service, render. A refused action shows its message on the page
with what was typed kept; every action is checked again by the service.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bases import selectors
from bases.fieldtypes import field_type_for
from nocoplatform.errors import DomainError
from permissions import comments, services
from permissions.checks import RANK, Actor, can, role_of
from permissions.middleware import HtmxHttpRequest
from permissions.models import FieldRule, Role, TableRole


def _invite_url(request: HtmxHttpRequest, raw: str) -> str:
    return request.build_absolute_uri(reverse("invite_accept", args=[raw]))


def _members_context(request: HtmxHttpRequest, base_id: str) -> dict:
    actor = request.actor
    base = selectors.base_get(actor=actor, base_id=base_id)
    own = role_of(actor, base)
    can_manage = can(actor, "members.manage", base)
    ceiling = RANK["owner"] if can_manage else RANK["creator"]
    tables = selectors.table_list(actor=actor, base=base)
    ctx = {
        "base": base,
        "tables": tables,
        "role": own,
        "can_manage": can_manage,
        "can_invite": can(actor, "members.invite", base),
        "members": services.member_list(actor=actor, base=base),
        "roles": Role.choices,
        "invite_roles": [
            (v, label)
            for v, label in Role.choices
            if RANK[v] <= min(ceiling, RANK[own])
        ],
        "table_role_choices": TableRole.ROLE_CHOICES,
    }
    ctx["owner_count"] = sum(1 for m in ctx["members"] if m.role == Role.OWNER)
    if ctx["can_invite"]:
        ctx["invites"] = services.invite_list(actor=actor, base=base)
    if can_manage:
        ctx["overrides"] = list(
            TableRole.objects.filter(table__base=base)
            .select_related("table", "user")
            .order_by("table__title", "user__email")
        )
        ctx["field_rules"] = list(
            FieldRule.objects.filter(field__table__base=base)
            .select_related("field__table")
            .order_by("field__table__title", "field__title")
        )
        ctx["rule_fields"] = [
            f
            for t in tables
            for f in t.fields.all()
            if f.column_name or field_type_for(f).is_link
        ]
    return ctx


@login_required
def members(request: HtmxHttpRequest, base_id: str) -> HttpResponse:
    ctx = _members_context(request, base_id)
    actor, base = request.actor, ctx["base"]
    typed = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        typed = request.POST
        try:
            message = _apply(request, actor, base, action)
            if message:
                messages.success(request, message)
            return redirect("members", base_id=base_id)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise  # refused, not a typo: the error page with its status
            ctx["error"] = exc.message
    ctx["typed"] = typed
    ctx["last_invite"] = request.session.pop("last_invite", None)
    return render(request, "permissions/members.html", ctx)


def _apply(request, actor: Actor, base, action: str) -> str:
    post = request.POST
    if action == "invite":
        invite, raw, sent = services.invite_create(
            actor=actor,
            base=base,
            email=post.get("email", ""),
            role=post.get("role", ""),
            accept_url=_invite_url(request, "TOKEN").replace("TOKEN", "{token}"),
        )
        link = _invite_url(request, raw)
        request.session["last_invite"] = {"email": invite.email, "url": link}
        return f"Invited {invite.email} as {invite.role}." + (
            " An email with the link is on its way." if sent else ""
        )
    if action == "role":
        m = services.member_update(
            actor=actor, base=base, user_id=post.get("user_id"), role=post.get("role")
        )
        return f"{m.user.email} is now {m.role}."
    if action == "remove":
        services.member_remove(actor=actor, base=base, user_id=post.get("user_id"))
        return "Member removed."
    if action == "revoke_invite":
        services.invite_revoke(actor=actor, base=base, invite_id=post.get("invite_id"))
        return "Invite revoked."
    if action in ("table_role", "table_role_clear"):
        table = selectors.table_get(actor=actor, table_id=post.get("table_id", ""))
        if table.base_id != base.pk:
            raise Http404("Table not found.")
        if action == "table_role_clear":
            services.table_role_clear(
                actor=actor, table=table, user_id=post.get("user_id")
            )
            return "Override removed."
        services.table_role_set(
            actor=actor, table=table, user_id=post.get("user_id"), role=post.get("role")
        )
        return f"Override saved for '{table.title}'."
    if action == "field_rule":
        field = selectors.field_get(actor=actor, field_id=post.get("field_id", ""))
        if field.table.base_id != base.pk:
            raise Http404("Field not found.")
        services.field_rule_set(
            actor=actor,
            field=field,
            hidden_below=post.get("hidden_below", ""),
            read_only_below=post.get("read_only_below", ""),
        )
        return f"Permissions of '{field.title}' saved."
    raise Http404("Unknown action.")


def invite_accept(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """The invite link: sign up or log in, then accept to join the base with the role."""
    invite = services.invite_get(raw_token=token)
    error = None
    if request.method == "POST" and request.user.is_authenticated:
        try:
            services.invite_accept(user=request.user, raw_token=token)
            messages.success(
                request, f"You joined {invite.base.title} as {invite.role}."
            )
            return redirect("base", base_id=invite.base_id)
        except DomainError as exc:
            error = exc.message
    return render(
        request,
        "permissions/invite.html",
        {"invite": invite, "error": error, "here": request.path},
    )


# --- comments ---------------------------------------------------------------------------------


def _comment_table(request: HtmxHttpRequest, base_id: str, table_id: str):
    table = selectors.table_get(actor=request.actor, table_id=table_id)
    if table.base_id != base_id:
        raise Http404("Table not found.")
    return table


def _thread(request, table, record_id: str, error=None, typed="") -> HttpResponse:
    actor = request.actor
    items = comments.comment_list(actor=actor, table=table, record_id=record_id)
    return render(
        request,
        "permissions/partials/comments.html",
        {
            "table": table,
            "record_id": record_id,
            "comments": items,
            "can_comment": can(actor, "comments.create", table),
            "can_moderate": comments.can_moderate(actor, table),
            "error": error,
            "typed": typed,
        },
    )


@login_required
def comments_partial(
    request: HtmxHttpRequest, base_id: str, table_id: str, record_id: str
) -> HttpResponse:
    """htmx: a row's thread; POST adds a comment. Include it in an expanded row with
    hx-get to this URL."""
    table = _comment_table(request, base_id, table_id)
    if request.method == "POST":
        typed = request.POST.get("text", "")
        try:
            comments.comment_create(
                actor=request.actor, table=table, record_id=record_id, text=typed
            )
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            return _thread(request, table, record_id, error=exc.message, typed=typed)
    return _thread(request, table, record_id)


@login_required
@require_POST
def comment_delete(request: HtmxHttpRequest, comment_id: int) -> HttpResponse:
    actor = request.actor
    comment = comments.comment_get(actor=actor, comment_id=comment_id)
    comments.comment_delete(actor=actor, comment=comment)
    return _thread(request, comment.table, comment.record_id)


@login_required
@require_POST
def comment_edit(request: HtmxHttpRequest, comment_id: int) -> HttpResponse:
    """htmx: the author changes their comment; the thread comes back (errors inline)."""
    actor = request.actor
    comment = comments.comment_get(actor=actor, comment_id=comment_id)
    typed = request.POST.get("text", "")
    try:
        comments.comment_update(actor=actor, comment=comment, text=typed)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        return _thread(request, comment.table, comment.record_id, error=exc.message)
    return _thread(request, comment.table, comment.record_id)
