"""Kanban: a stack per option of a single-select field, plus "Uncategorized"; or, by a field
without options (a text formula, a lookup, a user field), a stack per value the rows hold.

Settings (View.options): stack_field (FieldType.stacks_cards), stack_order (stack keys, "" for
Uncategorized), hidden_stacks, collapsed_stacks, card_order ({stack: [record ids]}, the order
people dragged cards into, per view), card_fields, title_field, cover_field. Each stack loads
PER_STACK cards (keyset "show more" after); counts per stack come from one GROUP BY
(bases/aggregates.group_buckets: exact, or the planner's estimate on huge tables, flagged).
Stacks by a field without options are its distinct values among the view's rows, from the
same GROUP BY (at most MAX_GROUPS; the page says when there are more).
Dragging a card to another stack writes the field through records/writes.py (webhooks fire);
people who may not change the field get no drag handles and the server refuses the move. A
computed stack field (formula, lookup, created by…) is nobody's to change: no handles, and a
move is refused with a 400 saying why.
"""

from __future__ import annotations

from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from bases import records
from bases.aggregates import MAX_GROUPS, group_buckets
from bases.fieldtypes import field_type_for
from bases.query.where import Condition, render_where
from nocoplatform.errors import DomainError, InvalidInput
from permissions.checks import require
from records.writes import insert_rows, update_rows
from views.models import View
from views.realtime import notices
from views.types import (
    ViewType,
    can_drag,
    card_fields,
    cover_capable,
    cover_field,
    is_cover_type,
    is_stack_type,
    kept_elsewhere,
    key_row,
    make_cards,
    new_card,
    opt_field,
    opt_field_list,
    read_list,
    register,
    require_drag,
    shown_fields,
    table_fields,
    title_field,
)

PER_STACK = 25
MAX_ORDER = 1000  # ids remembered per stack
UNCATEGORIZED = ""


def _strings(options: dict, key: str, limit: int = 500) -> list[str]:
    value = options.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"`{key}` must be a list of stack names.")
    if len(value) > limit:
        raise InvalidInput(f"`{key}` has at most {limit} entries.")
    return list(dict.fromkeys(value))


def stack_field(ctx: dict):
    """The stack field as the actor sees it (None: unset, or hidden from them)."""
    fid = (ctx["view"].options or {}).get("stack_field")
    return next((f for f in ctx["meta"].fields if f.id == fid), None)


def choices(field) -> list[dict]:
    """The stacks the field's options give (a select's, a looked-up select's)."""
    return field_type_for(field).stack_choices(field)


def fixed_stacks(field) -> bool:
    """Only the options are stacks (a select); otherwise every value the rows hold is."""
    return field_type_for(field).has_choices


def stack_key(field, value) -> str:
    return field_type_for(field).stack_key(field, value)


def stack_condition(field, key: str) -> Condition:
    """The rows of one stack, as a `where` node."""
    if key == UNCATEGORIZED:
        return Condition(field.id, "blank", None)
    return Condition(field.id, "eq", key)


def stack_where(field, key: str) -> str:
    return render_where(stack_condition(field, key))


def ordered_stacks(field, options: dict, counts: dict | None = None) -> list[dict]:
    """Every stack (Uncategorized first unless reordered), with its colour and flags. By a
    field without fixed options, the values in `counts` (_counts) are stacks too."""
    stacks = [{"key": UNCATEGORIZED, "title": "Uncategorized", "color": "#eef0f3"}]
    stacks += [
        {"key": c["title"], "title": c["title"], "color": c.get("color") or "#eef0f3"}
        for c in choices(field)
    ]
    if counts and not fixed_stacks(field):
        known = {s["key"] for s in stacks}
        found = [k for k in counts if k not in known]
        titles = field_type_for(field).stack_titles(field, found) if found else {}
        stacks += [
            {"key": k, "title": titles.get(k) or k, "color": "#eef0f3"} for k in found
        ]
    order = {k: i for i, k in enumerate(options.get("stack_order") or [])}
    stacks.sort(key=lambda s: order.get(s["key"], len(order)))
    hidden = set(options.get("hidden_stacks") or [])
    collapsed = set(options.get("collapsed_stacks") or [])
    for s in stacks:
        s["hidden"] = s["key"] in hidden
        s["collapsed"] = s["key"] in collapsed
    return stacks


def read_stack(ctx: dict, field, key: str, *, cursor: str | None = None):
    meta, view = ctx["meta"], ctx["view"]
    visible = shown_fields(meta, view)
    title = title_field(meta, view, visible)
    fields = card_fields(meta, view, visible, title, skip=(field,))
    cover = cover_field(meta, view)
    params = {
        "limit": str(PER_STACK),
        "fields": read_list(meta, [title, cover], fields),
        "where": stack_where(field, key),
    }
    if cursor:
        params["cursor"] = cursor
    page = records.list_records(
        ctx["table"], params, view=view, actor=ctx["actor"], search=ctx["q"] or None
    )
    cards = make_cards(meta, page.rows, title=title, fields=fields, cover=cover)
    if not cursor:  # the dragged order first, then the view's sort
        remembered = ((view.options or {}).get("card_order") or {}).get(key) or []
        rank = {str(i): n for n, i in enumerate(remembered)}
        cards.sort(key=lambda c: rank.get(str(c.id), len(rank)))
    return cards, page.page_info.get("next")


def _counts(ctx: dict, field) -> tuple[dict, bool]:
    """{stack key: (count, estimated)} from one GROUP BY, in the field's value order; and
    whether the field holds more than MAX_GROUPS values (the rest are not stacks)."""
    buckets, more = group_buckets(
        ctx["table"],
        field,
        actor=ctx["actor"],
        view=ctx["view"],
        search=ctx["q"] or None,
    )
    out: dict = {}
    for b in buckets:
        key = UNCATEGORIZED if b.value in (None, "") else str(b.value)
        n, est = out.get(key, (0, False))
        out[key] = (n + b.count, est or b.estimated)
    return out, more


def card_order_save(*, actor, view: View, stack: str, order: list) -> None:
    """Remember the order of cards in a stack (anyone who may edit the records may drag)."""
    require(actor, "records.update", view.table)
    if not isinstance(order, list) or len(order) > MAX_ORDER:
        raise InvalidInput(f"`order` is a list of at most {MAX_ORDER} record ids.")
    with transaction.atomic():
        fresh = View.objects.select_for_update().get(pk=view.pk)
        before = notices.snapshot(fresh)
        options = dict(fresh.options or {})
        saved = dict(options.get("card_order") or {})
        saved[stack] = [str(i) for i in dict.fromkeys(order)][:MAX_ORDER]
        options["card_order"] = saved
        fresh.options = options
        fresh.save(update_fields=["options", "updated_at"])
        notices.view_saved(fresh, before)
    view.options = fresh.options


@register
class Kanban(ViewType):
    type = "kanban"
    # Stack names are the stack field's options; card_order says which records hold which.
    dependent_options = {
        "stack_field": (
            "stack_order",
            "hidden_stacks",
            "collapsed_stacks",
            "card_order",
        )
    }
    label = "Kanban"
    icon = "▥"

    def default_options(self, table) -> dict:
        stackable = [f for f in table.fields.all() if is_stack_type(f)]
        stackable.sort(key=lambda f: not fixed_stacks(f))  # a select's options first
        field = stackable[0] if stackable else None
        if field is None:
            raise InvalidInput(
                "A kanban view needs a single-select field (or a user field, or a text "
                "formula) for its stacks; add one first."
            )
        return {"stack_field": field.id}

    def clean_options(self, table, options: dict) -> dict:
        fields = table_fields(table)
        out = dict(options)
        out["stack_field"] = opt_field(
            fields, options, "stack_field", accepts=is_stack_type, required=True
        )
        for key in ("stack_order", "hidden_stacks", "collapsed_stacks"):
            out[key] = _strings(options, key)
        order = options.get("card_order") or {}
        if not isinstance(order, dict) or not all(
            isinstance(v, list) and len(v) <= MAX_ORDER for v in order.values()
        ):
            raise InvalidInput("`card_order` maps a stack to a list of record ids.")
        out["card_order"] = {str(k): [str(i) for i in v] for k, v in order.items()}
        out["cover_field"] = opt_field(
            fields, options, "cover_field", accepts=is_cover_type
        )
        out["title_field"] = opt_field(fields, options, "title_field")
        out["card_fields"] = opt_field_list(fields, options, "card_fields")
        return out

    def options_from_post(self, post, view: View) -> dict:
        options = view.options or {}
        out: dict = {}
        for key in ("stack_field", "cover_field", "title_field"):
            if key in post:
                out[key] = post.get(key) or None
        if "card_fields_sent" in post:
            out["card_fields"] = post.getlist("card_fields")
        if "stack_order" in post:
            out["stack_order"] = post.getlist("stack_order")
        for action, key in (
            ("collapse", "collapsed_stacks"),
            ("hide", "hidden_stacks"),
        ):
            if action in post:  # toggle one stack
                current = list(options.get(key) or [])
                stack = post.get(action)
                out[key] = (
                    [s for s in current if s != stack]
                    if stack in current
                    else [*current, stack]
                )
        return out

    # ---- pages

    def page(self, request, ctx: dict):
        field = stack_field(ctx)
        stacks, error, more = [], None, False
        if field is None:
            error = InvalidInput(
                "This kanban's stack field is missing or hidden from you; "
                "choose another in the kanban settings."
            )
        else:
            try:
                counts, more = _counts(ctx, field)
                for s in ordered_stacks(field, ctx["view"].options or {}, counts):
                    s["count"], s["estimated"] = counts.get(s["key"], (0, False))
                    s["cards"], s["next"] = (
                        ([], None)
                        if s["hidden"] or s["collapsed"]
                        else read_stack(ctx, field, s["key"])
                    )
                    stacks.append(s)
            except DomainError as exc:
                error = exc
        ctx.update(self._context(ctx, field, stacks, error))
        ctx.update({"more_stacks": more, "max_stacks": MAX_GROUPS})
        return render(request, "views/types/kanban.html", ctx)

    def _context(self, ctx, field, stacks, error) -> dict:
        meta, view = ctx["meta"], ctx["view"]
        visible = shown_fields(meta, view)
        return {
            "stack_field": field,
            "stacks": [s for s in stacks if not s["hidden"]],
            "hidden_stacks": [s for s in stacks if s["hidden"]],
            "rows_error": error,
            "draggable": can_drag(ctx, field),
            "computed_stacks": kept_elsewhere(field) if field is not None else "",
            "open_stacks": field is not None and not fixed_stacks(field),
            "show_cover": cover_field(meta, view) is not None,
            "visible": visible,
            "select_fields": [f for f in meta.fields if is_stack_type(f)],
            "kept_ids": {f.id for f in meta.fields if kept_elsewhere(f)},
            "cover_choices": [f for f in meta.fields if cover_capable(f)],
            "chosen_cards": [
                f.id
                for f in card_fields(
                    meta, view, visible, title_field(meta, view, visible), skip=(field,)
                )
            ],
        }

    def live(self, ctx: dict, ids: list[str], *, deleted: bool) -> dict:
        """Changed records as this actor's cards (views/realtime/live.py): each shown one with
        its stack and the card before it there, as a reload would order the stack (its
        dragged order first, then the view's sort); the others `gone`; every stack's count."""
        from views.realtime.placing import previous_id, rows_by_ids

        field = stack_field(ctx)
        if field is None:
            return {"refresh": True}
        meta, view, table, actor = ctx["meta"], ctx["view"], ctx["table"], ctx["actor"]
        counts, _more = _counts(ctx, field)
        stacks = {
            s["key"]: s for s in ordered_stacks(field, view.options or {}, counts)
        }
        cards = []
        found: set[str] = set()
        if not deleted:
            visible = shown_fields(meta, view)
            title = title_field(meta, view, visible)
            fields = card_fields(meta, view, visible, title, skip=(field,))
            cover = cover_field(meta, view)
            placed = rows_by_ids(
                table,
                ids,
                actor=actor,
                view=view,
                fields=read_list(meta, [title, cover, field], fields),
                search=ctx["q"] or None,
            )
            first_pages: dict[str, list[str]] = {}
            draw = {
                **ctx,
                "show_cover": cover is not None,
                "draggable": can_drag(ctx, field),
            }
            for rid, row in placed.rows:
                key = stack_key(field, row.get(field.title))
                stack = stacks.get(key)
                if stack is None or stack["hidden"] or stack["collapsed"]:
                    continue  # not drawn on the page: the card only leaves where it was
                found.add(rid)
                if key not in first_pages:
                    page, _next = read_stack(ctx, field, key)
                    first_pages[key] = [str(c.id) for c in page]
                first = first_pages[key]
                if rid in first:
                    i = first.index(rid)
                    after = first[i - 1] if i else None
                else:  # beyond the first page: where the view's sort puts it
                    after = previous_id(
                        placed,
                        row,
                        table=table,
                        actor=actor,
                        view=view,
                        where=stack_condition(field, key),
                    )
                    if after is None or after in first:
                        after = first[-1] if first else None
                (card,) = make_cards(
                    meta, [row], title=title, fields=fields, cover=cover
                )
                html = render_to_string(
                    "views/types/card.html", {**draw, "card": card}
                ).strip()
                cards.append({"id": rid, "html": html, "stack": key, "after": after})
        return {
            "cards": cards,
            "gone": [i for i in ids if i not in found],
            "counts": {
                key: {"count": n, "estimated": est} for key, (n, est) in counts.items()
            },
        }

    def cards(self, request, ctx: dict):
        field = stack_field(ctx)
        if field is None:
            raise InvalidInput("This kanban has no stack field.")
        key = request.GET.get("stack", "")
        cards, nxt = read_stack(
            ctx, field, key, cursor=request.GET.get("cursor") or None
        )
        ctx.update(self._context(ctx, field, [], None))
        ctx.update({"stack": {"key": key, "next": nxt, "cards": cards}})
        return render(request, "views/types/kanban.html#stack-cards", ctx)

    def move(self, request, ctx: dict):
        """POST record, stack ("" = Uncategorized) and optionally order (the target stack's
        card ids after the drop)."""
        field = stack_field(ctx)
        require_drag(ctx, field, "cards cannot be moved between its stacks")
        meta, table = ctx["meta"], ctx["table"]
        record_id = request.POST.get("record", "")
        stack = request.POST.get("stack", "")
        _check_stack(field, stack)
        row = records.get_record(
            table, record_id, {"fields": field.id}, actor=ctx["actor"]
        )
        current = stack_key(field, row.get(field.title))
        if current != stack:
            update_rows(
                table,
                {**key_row(meta, record_id), field.title: stack or None},
                actor=ctx["actor"],
            )
        if "order" in request.POST:
            card_order_save(
                actor=ctx["actor"],
                view=ctx["view"],
                stack=stack,
                order=request.POST.getlist("order"),
            )
        return JsonResponse({"ok": True, "record": record_id, "stack": stack})

    def add(self, request, ctx: dict):
        """POST stack and title: a new record in that stack, answered as its card."""
        field = stack_field(ctx)
        require_drag(ctx, field, "cards cannot be added to its stacks")
        meta, view = ctx["meta"], ctx["view"]
        stack = request.POST.get("stack", "")
        _check_stack(field, stack)
        visible = shown_fields(meta, view)
        title = title_field(meta, view, visible)
        values = {field.title: stack or None}
        text = request.POST.get("title", "").strip()
        if text and title is not None and can_drag(ctx, title):
            values[title.title] = text
        ids = insert_rows(ctx["table"], values, actor=ctx["actor"])
        record_id = meta.record_id(ids[0])
        card = new_card(
            ctx,
            record_id,
            title=title,
            fields=card_fields(meta, view, visible, title, skip=(field,)),
            cover=cover_field(meta, view),
        )
        ctx.update(
            {
                "card": card,
                "draggable": can_drag(ctx, field),
                "show_cover": cover_field(meta, view) is not None,
            }
        )
        return render(request, "views/types/card.html", ctx)


def _check_stack(field, stack: str) -> None:
    """A 400 for a stack a select does not offer (other fields' values are checked by the
    write itself: a user field takes base members only)."""
    if (
        fixed_stacks(field)
        and stack != UNCATEGORIZED
        and stack not in {c["title"] for c in choices(field)}
    ):
        raise InvalidInput(f"'{field.title}' has no option '{stack}'.")
