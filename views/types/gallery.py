"""Gallery: cards in a responsive grid — a cover image, a title and the chosen fields.

Settings (View.options): cover_field (a URL field, or any field type with a cover (FieldType.has_cover)),
cover_fit "cover" (crop) or "contain" (fit), title_field, card_fields (ids, in order). The first
PAGE cards come with the page; the rest load as the last card scrolls into view, by keyset
cursor (never OFFSET), so a large table costs one small query per page.
"""

from __future__ import annotations

from django.shortcuts import render
from django.template.loader import render_to_string

from bases import records
from nocoplatform.errors import DomainError, InvalidInput
from views.types import (
    ViewType,
    card_fields,
    cover_capable,
    cover_field,
    is_cover_type,
    make_cards,
    opt_choice,
    opt_field,
    opt_field_list,
    read_list,
    register,
    shown_fields,
    table_fields,
    title_field,
)

PAGE = 48
FITS = ("cover", "contain")


def read_cards(ctx: dict, *, cursor: str | None = None) -> tuple[list, dict]:
    meta, view = ctx["meta"], ctx["view"]
    visible = shown_fields(meta, view)
    title = title_field(meta, view, visible)
    fields = card_fields(meta, view, visible, title)
    cover = cover_field(meta, view)
    params = {"limit": str(PAGE), "fields": read_list(meta, [title, cover], fields)}
    if cursor:
        params["cursor"] = cursor
    page = records.list_records(
        ctx["table"], params, view=view, actor=ctx["actor"], search=ctx["q"] or None
    )
    cards = make_cards(meta, page.rows, title=title, fields=fields, cover=cover)
    return cards, page.page_info


@register
class Gallery(ViewType):
    type = "gallery"
    label = "Gallery"
    icon = "▤"

    def default_options(self, table) -> dict:
        cover = next((f.id for f in table.fields.all() if cover_capable(f)), None)
        return {"cover_field": cover, "cover_fit": "cover"}

    def clean_options(self, table, options: dict) -> dict:
        fields = table_fields(table)
        out = dict(options)
        out["cover_field"] = opt_field(
            fields, options, "cover_field", accepts=is_cover_type
        )
        out["cover_fit"] = opt_choice(options, "cover_fit", FITS, "cover")
        out["title_field"] = opt_field(fields, options, "title_field")
        out["card_fields"] = opt_field_list(fields, options, "card_fields")
        return out

    def options_from_post(self, post, view) -> dict:
        out = {}
        for key in ("cover_field", "cover_fit", "title_field"):
            if key in post:
                out[key] = post.get(key) or None
        if "card_fields_sent" in post:
            out["card_fields"] = post.getlist("card_fields")
        return out

    def page(self, request, ctx: dict):
        error = None
        cards, info = [], {}
        try:
            cards, info = read_cards(ctx)
        except DomainError as exc:  # a view filter the table no longer fits
            error = exc
        ctx.update(self._context(ctx, cards, info, error))
        return render(request, "views/types/gallery.html", ctx)

    def cards(self, request, ctx: dict):
        cards, info = read_cards(ctx, cursor=request.GET.get("cursor") or None)
        ctx.update(self._context(ctx, cards, info, None))
        return render(request, "views/types/gallery.html#cards", ctx)

    def _context(self, ctx, cards, info, error) -> dict:
        meta, view = ctx["meta"], ctx["view"]
        visible = shown_fields(meta, view)
        options = view.options or {}
        return {
            "cards": cards,
            "next": info.get("next"),
            "total": info.get("totalRows") or 0,
            "estimated": bool(info.get("totalRowsEstimated")),
            "rows_error": error,
            "show_cover": cover_field(meta, view) is not None,
            "fit": options.get("cover_fit") or "cover",
            "visible": visible,
            "cover_choices": [f for f in meta.fields if cover_capable(f)],
            "chosen_cards": [
                f.id
                for f in card_fields(
                    meta, view, visible, title_field(meta, view, visible)
                )
            ],
        }

    def live(self, ctx: dict, ids: list[str], *, deleted: bool) -> dict:
        """Changed records as this actor's cards (views/realtime/live.py): each shown one with
        the card before it in the view's order; the others `gone`; the new total."""
        from bases.aggregates import row_count
        from views.realtime.placing import previous_id, rows_by_ids

        meta, view, table, actor = ctx["meta"], ctx["view"], ctx["table"], ctx["actor"]
        cards = []
        found: set[str] = set()
        if not deleted:
            visible = shown_fields(meta, view)
            title = title_field(meta, view, visible)
            fields = card_fields(meta, view, visible, title)
            cover = cover_field(meta, view)
            placed = rows_by_ids(
                table,
                ids,
                actor=actor,
                view=view,
                fields=read_list(meta, [title, cover], fields),
                search=ctx["q"] or None,
            )
            found = placed.ids()
            show_cover = cover is not None
            for rid, row in placed.rows:
                (card,) = make_cards(
                    meta, [row], title=title, fields=fields, cover=cover
                )
                html = render_to_string(
                    "views/types/card.html",
                    {**ctx, "card": card, "show_cover": show_cover, "draggable": False},
                ).strip()
                after = previous_id(placed, row, table=table, actor=actor, view=view)
                cards.append({"id": rid, "html": html, "after": after})
        total = row_count(table, actor=actor, view=view, search=ctx["q"] or None)
        return {
            "cards": cards,
            "gone": [i for i in ids if i not in found],
            "total": {"count": total.count, "estimated": total.estimated},
        }

    def move(self, request, ctx):
        raise InvalidInput("Gallery cards are not moved; open a card to edit it.")

    add = move
