"""Calendar: records as chips on a month or week grid, by a date or date-time field.

Settings (View.options): date_field (FieldType.on_calendar: Date, DateTime, a created or
modified time, a formula or lookup giving a date), end_field (optional: a record spans from
its date to its end), mode "month" or "week" (the page's ?mode= switches for the visit). Only
the visible range is read — a where on the date field ANDed with the view's filter — capped at
MAX_CHIPS; records without a date are listed beside the grid. Dropping a chip on another day
writes the date (the time of day and the span's length are kept) through records/writes.py.
Days on DateTime fields are UTC days, as in the where dialect (docs/where.md). A computed
date (formula, lookup, created time) is read, filtered and sorted in SQL like a stored one;
nobody moves its chips (no handles; a move is refused with a 400 saying why).
"""

from __future__ import annotations

import datetime as dt

from django.http import JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django_htmx.http import HttpResponseClientRefresh

from bases import records
from bases.fieldtypes import field_type_for
from bases.query.where import And, Condition, Or, render_where
from nocoplatform.errors import DomainError, InvalidInput
from records.writes import insert_rows, update_rows
from views.models import View
from views.types import (
    ViewType,
    can_drag,
    is_date_type,
    kept_elsewhere,
    key_row,
    opt_choice,
    opt_field,
    register,
    require_drag,
    shown_fields,
    table_fields,
    title_field,
)

MODES = ("month", "week")
MAX_CHIPS = 500
MAX_SPAN = 62  # days a chip is drawn over
UNDATED = 50


def parse_day(text: str | None, default: dt.date | None = None) -> dt.date:
    if not text:
        return default or dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        raise InvalidInput(f"'{text}' is not a date (YYYY-MM-DD).", code="INVALID_DATE")


def as_day(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def visible_range(day: dt.date, mode: str) -> tuple[dt.date, dt.date]:
    """First and last day shown (weeks start on Monday; a month shows six weeks)."""
    if mode == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    first = day.replace(day=1)
    start = first - dt.timedelta(days=first.weekday())
    return start, start + dt.timedelta(days=41)


def range_where(date_f, end_f, start: dt.date, end: dt.date) -> str:
    if end_f is None:
        node = Condition(date_f.id, "btw", (start.isoformat(), end.isoformat()))
    else:  # starts before the range ends, and ends (or starts) inside or after it
        node = And(
            (
                Condition(date_f.id, "le", end.isoformat()),
                Or(
                    (
                        Condition(end_f.id, "ge", start.isoformat()),
                        Condition(date_f.id, "ge", start.isoformat()),
                    )
                ),
            )
        )
    return render_where(node)


def _fields(ctx: dict):
    meta, options = ctx["meta"], ctx["view"].options or {}
    by_id = {f.id: f for f in meta.fields}
    return by_id.get(options.get("date_field") or ""), by_id.get(
        options.get("end_field") or ""
    )


@register
class Calendar(ViewType):
    type = "calendar"
    label = "Calendar"
    icon = "▦"

    def default_options(self, table) -> dict:
        dated = [f for f in table.fields.all() if is_date_type(f)]
        dated.sort(key=lambda f: bool(kept_elsewhere(f)))  # a date people set first
        field = dated[0] if dated else None
        if field is None:
            raise InvalidInput(
                "A calendar view needs a date or date-time field; add one first."
            )
        return {"date_field": field.id, "mode": "month"}

    def clean_options(self, table, options: dict) -> dict:
        fields = table_fields(table)
        out = dict(options)
        out["date_field"] = opt_field(
            fields, options, "date_field", accepts=is_date_type, required=True
        )
        out["end_field"] = opt_field(fields, options, "end_field", accepts=is_date_type)
        if out["end_field"] and out["end_field"] == out["date_field"]:
            raise InvalidInput("`end_field`: choose a field other than the date field.")
        out["mode"] = opt_choice(options, "mode", MODES, "month")
        out["title_field"] = opt_field(fields, options, "title_field")
        return out

    def options_from_post(self, post, view: View) -> dict:
        return {
            k: post.get(k) or None
            for k in ("date_field", "end_field", "mode", "title_field")
            if k in post
        }

    def page(self, request, ctx: dict):
        view, meta = ctx["view"], ctx["meta"]
        mode = request.GET.get("mode") or (view.options or {}).get("mode") or "month"
        if mode not in MODES:
            mode = "month"
        try:
            day = parse_day(request.GET.get("date"))
        except InvalidInput:
            day = parse_day(None)
        start, end = visible_range(day, mode)
        date_f, end_f = _fields(ctx)
        visible = shown_fields(meta, view)
        title = title_field(meta, view, visible)
        chips: dict[dt.date, list] = {}
        undated, undated_info, error, capped = [], {}, None, False
        if date_f is None:
            error = InvalidInput(
                "This calendar's date field is missing or hidden from you; "
                "choose another in the calendar settings."
            )
        else:
            try:
                rows, capped = self._read(ctx, date_f, end_f, title, start, end)
                chips = self._place(ctx, rows, date_f, end_f, title, start, end)
                page = records.list_records(
                    ctx["table"],
                    {
                        "limit": str(UNDATED),
                        "fields": _read_list(meta, title, date_f, end_f),
                        "where": render_where(Condition(date_f.id, "blank", None)),
                    },
                    view=view,
                    actor=ctx["actor"],
                    search=ctx["q"] or None,
                )
                undated = [self._chip(meta, r, title, date_f, None) for r in page.rows]
                undated_info = page.page_info
            except DomainError as exc:
                error = exc
        today = dt.datetime.now(dt.UTC).date()
        weeks, week = [], []
        d = start
        while d <= end:
            week.append(
                {
                    "date": d,
                    "chips": chips.get(d, []),
                    "today": d == today,
                    "outside": mode == "month" and d.month != day.month,
                }
            )
            if len(week) == 7:
                weeks.append(week)
                week = []
            d += dt.timedelta(days=1)
        step = dt.timedelta(days=7) if mode == "week" else None
        prev_day = (
            day - step
            if step
            else (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        )
        next_day = (
            day + step
            if step
            else (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        )
        ctx.update(
            {
                "mode": mode,
                "day": day,
                "today": today,
                "range_start": start,
                "range_end": end,
                "weeks": weeks,
                "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                "prev_day": prev_day,
                "next_day": next_day,
                "undated": undated,
                "undated_total": undated_info.get("totalRows") or 0,
                "undated_more": not undated_info.get("isLastPage", True),
                "capped": capped,
                "max_chips": MAX_CHIPS,
                "rows_error": error,
                "date_field": date_f,
                "end_field": end_f,
                "draggable": can_drag(ctx, date_f),
                "computed_date": kept_elsewhere(date_f) if date_f is not None else "",
                "date_choices": [f for f in meta.fields if is_date_type(f)],
                "kept_ids": {f.id for f in meta.fields if kept_elsewhere(f)},
                "visible": visible,
            }
        )
        return render(request, "views/types/calendar.html", ctx)

    def _read(self, ctx, date_f, end_f, title, start, end):
        page = records.list_records(
            ctx["table"],
            {
                "limit": str(MAX_CHIPS),
                "fields": _read_list(ctx["meta"], title, date_f, end_f),
                "where": range_where(date_f, end_f, start, end),
                "sort": date_f.id,
            },
            view=ctx["view"],
            actor=ctx["actor"],
            search=ctx["q"] or None,
        )
        return page.rows, not page.page_info.get("isLastPage", True)

    def _chip(self, meta, row, title, date_f, end_f) -> dict:
        rid = meta.record_id([row.get(f.title) for f in meta.pk]) if meta.pk else None
        value = row.get(date_f.title)
        text = row.get(title.title) if title is not None else None
        time = (
            value.strftime("%H:%M")
            if isinstance(value, dt.datetime) and (value.hour or value.minute)
            else ""
        )
        return {
            "id": rid,
            "title": str(text) if text not in (None, "") else "Untitled",
            "time": time,
            # The order within a day (live chips are put in place by it): the date's text.
            "sort": value.isoformat()
            if hasattr(value, "isoformat")
            else str(value or ""),
            "start": as_day(value),
            "end": as_day(row.get(end_f.title)) if end_f is not None else None,
        }

    def _place(self, ctx, rows, date_f, end_f, title, start, end) -> dict:
        out: dict = {}
        for row in rows:
            chip = self._chip(ctx["meta"], row, title, date_f, end_f)
            first = chip["start"]
            if first is None:
                continue
            last = chip["end"] if chip["end"] and chip["end"] >= first else first
            last = min(last, first + dt.timedelta(days=MAX_SPAN), end)
            d = max(first, start)
            while d <= last:
                out.setdefault(d, []).append(
                    {**chip, "cont": d != first, "more": d != last}
                )
                d += dt.timedelta(days=1)
        return out

    def live(self, ctx: dict, ids: list[str], *, deleted: bool) -> dict:
        """Changed records as this actor's chips (views/realtime/live.py): each with the days
        it covers (none: the "no date" list); the page draws it on those it shows. Records
        the view no longer shows are `gone`."""
        from views.realtime.placing import rows_by_ids

        date_f, end_f = _fields(ctx)
        if date_f is None:
            return {"refresh": True}
        meta, view = ctx["meta"], ctx["view"]
        chips = []
        found: set[str] = set()
        if not deleted:
            title = title_field(meta, view, shown_fields(meta, view))
            placed = rows_by_ids(
                ctx["table"],
                ids,
                actor=ctx["actor"],
                view=view,
                fields=_read_list(meta, title, date_f, end_f),
                search=ctx["q"] or None,
            )
            found = placed.ids()
            draw = {**ctx, "draggable": can_drag(ctx, date_f)}
            for rid, row in placed.rows:
                chip = self._chip(meta, row, title, date_f, end_f)
                days = []
                if chip["start"] is not None:
                    first = chip["start"]
                    last = (
                        chip["end"] if chip["end"] and chip["end"] >= first else first
                    )
                    last = min(last, first + dt.timedelta(days=MAX_SPAN))
                    days = [
                        (first + dt.timedelta(days=n)).isoformat()
                        for n in range((last - first).days + 1)
                    ]
                html = render_to_string(
                    "views/types/chip.html",
                    {**draw, "c": {**chip, "cont": False, "more": False}},
                ).strip()
                chips.append(
                    {"id": rid, "html": html, "days": days, "sort": chip["sort"]}
                )
        return {"chips": chips, "gone": [i for i in ids if i not in found]}

    def cards(self, request, ctx):
        raise InvalidInput("A calendar loads by range: change the month or week.")

    def move(self, request, ctx: dict):
        """POST record and date (YYYY-MM-DD): the record moves to that day, keeping its time
        of day and, with an end field, its length."""
        date_f, end_f = _fields(ctx)
        require_drag(ctx, date_f, "its records cannot be moved to another day")
        meta, table = ctx["meta"], ctx["table"]
        record_id = request.POST.get("record", "")
        target = _posted_day(request)
        row = records.get_record(
            table,
            record_id,
            {"fields": ",".join(f.id for f in (date_f, end_f) if f is not None)},
            actor=ctx["actor"],
        )
        old = row.get(date_f.title)
        values = {date_f.title: _moved(date_f, old, target)}
        old_day = as_day(old)
        if end_f is not None and can_drag(ctx, end_f) and old_day is not None:
            old_end = row.get(end_f.title)
            if as_day(old_end) is not None:
                shift = target - old_day
                end_day = as_day(old_end) + shift
                values[end_f.title] = _moved(end_f, old_end, end_day)
        update_rows(table, {**key_row(meta, record_id), **values}, actor=ctx["actor"])
        return JsonResponse(
            {"ok": True, "record": record_id, "date": target.isoformat()}
        )

    def add(self, request, ctx: dict):
        """POST date (and a title, from htmx's prompt): a new record on that day."""
        date_f, _ = _fields(ctx)
        require_drag(ctx, date_f, "records cannot be added on a day")
        meta, view = ctx["meta"], ctx["view"]
        day = _posted_day(request)
        values = {date_f.title: _moved(date_f, None, day)}
        title = title_field(meta, view, shown_fields(meta, view))
        text = (request.htmx.prompt or request.POST.get("title") or "").strip()
        if text and title is not None and can_drag(ctx, title):
            values[title.title] = text[:1000]
        insert_rows(ctx["table"], values, actor=ctx["actor"])
        if request.htmx:
            return HttpResponseClientRefresh()
        return JsonResponse({"ok": True}, status=201)


def _posted_day(request) -> dt.date:
    text = request.POST.get("date")
    if not text:
        raise InvalidInput("Send `date`: the day, as YYYY-MM-DD.", code="INVALID_DATE")
    return parse_day(text)


def _moved(field, old, day: dt.date) -> str:
    """`day` in the field's type: a date, or the old time of day on that day (UTC)."""
    if field_type_for(field).date_only:
        return day.isoformat()
    if isinstance(old, dt.datetime):
        moved = dt.datetime.combine(day, old.timetz())
    else:
        moved = dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC)
    return moved.isoformat()


def _read_list(meta, title, date_f, end_f) -> str:
    out = [f.id for f in (title, date_f, end_f) if f is not None]
    out += [f.id for f in meta.pk if f in meta.fields and f.id not in out]
    return ",".join(dict.fromkeys(out))
