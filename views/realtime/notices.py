"""View and share changes -> realtime notices: explicit calls from the views services.

    before = notices.snapshot(view)        # as the service starts, before it changes the view
    ... change and save the view ...
    notices.view_saved(view, before)

- a View saved -> `view.changed` {view} (the tab that changed it is skipped); when only a
  kanban's dragged card order moved -> `cards.ordered` {view, orders} instead (the other kanban
  pages re-order those stacks' cards, no refresh needed); when only one person's layout
  (column widths, row height), the title or the order of the view tabs moved: nothing;
- a View deleted -> `view.changed` {view, deleted} (and `share.changed` first when it had a
  public link);
- a ViewShare saved or deleted (revoked, regenerated, password changed) -> `share.changed`
  {view}: the visitors' sockets of that view check their link again at once.

Each notice is sent once the meta DB commits (never for a rolled-back change); many changes of
one view in one transaction give one notice.
"""

from __future__ import annotations

from bases.changes import write_origin
from records import meta_events
from views.realtime import broadcast


def once(key: tuple, fn) -> None:
    """Run `fn` when the meta DB commits, once per `key` and transaction (never after a
    rollback, which forgets the key: records.meta_events.on_commit_once)."""
    meta_events.on_commit_once(key, fn)


# Per-person layout (column widths, row height) changes no one else's rows: no notice for it.
_LAYOUT_OPTIONS = ("column_widths", "row_height")


# A kanban's dragged card order is sent as such (cards.ordered), not as a view change.
_ORDER_OPTION = "card_order"
MAX_ORDERED = 200  # ids per stack sent: more than a page ever shows before "show more"


def _card_order(view) -> dict:
    order = (view.options or {}).get(_ORDER_OPTION)
    return dict(order) if isinstance(order, dict) else {}


def _shape(view) -> tuple:
    options = {
        k: v
        for k, v in (view.options or {}).items()
        if k not in _LAYOUT_OPTIONS and k != _ORDER_OPTION
    }
    return (
        view.where,
        view.sort,
        list(view.field_order or []),
        list(view.hidden_fields or []),
        sorted(options.items(), key=lambda kv: kv[0]),
    )


def snapshot(view) -> tuple:
    """What a view shows (and its kanban card order) before a service changes it."""
    return (_shape(view), _card_order(view))


def view_saved(view, before: tuple) -> None:
    """After a service saved an existing `view` whose `snapshot` was `before`."""
    table_id, view_id = view.table_id, view.pk
    if not broadcast.listening(table_id):
        return
    origin = write_origin.get()
    shape_before, order_before = before
    if shape_before == _shape(view):
        # Only the layout, the title or a kanban's dragged order moved.
        order = _card_order(view)
        if order != order_before:
            orders = {
                stack: [str(i) for i in ids[:MAX_ORDERED]]
                for stack, ids in order.items()
                if order_before.get(stack) != ids and isinstance(ids, list)
            }
            # The stack field: sockets that cannot see it are not sent its stack names and
            # card order (views/realtime/consumer.table_notice).
            stack_field = (view.options or {}).get("stack_field")
            once(
                ("order", view_id),
                lambda: broadcast.table_changed(
                    table_id,
                    "cards.ordered",
                    view=view_id,
                    orders=orders,
                    origin=origin,
                    field=stack_field,
                ),
            )
        return
    _view_changed(table_id, view_id, deleted=False, origin=origin)


def view_deleted(view) -> None:
    """Before a service deletes `view`, inside the deleting transaction."""
    table_id = view.table_id
    if not broadcast.listening(table_id):
        return
    from views.models import ViewShare

    if ViewShare.objects.filter(view_id=view.pk).exists():
        _share_changed(table_id, view.pk)
    _view_changed(table_id, view.pk, deleted=True, origin=write_origin.get())


def share_changed(share) -> None:
    """After a service saved or deleted a view's public link."""
    from views.models import View

    view_id = share.view_id
    table_id = (
        View.objects.filter(pk=view_id).values_list("table_id", flat=True).first()
    )
    if table_id is None or not broadcast.listening(table_id):
        return  # the view went too: its `view.changed` closes the visitors' sockets
    _share_changed(table_id, view_id)


def _view_changed(table_id, view_id, *, deleted: bool, origin: str) -> None:
    once(
        ("view", view_id),
        lambda: broadcast.table_changed(
            table_id, "view.changed", view=view_id, deleted=deleted, origin=origin
        ),
    )


def _share_changed(table_id, view_id) -> None:
    once(
        ("share", view_id),
        lambda: broadcast.send(
            broadcast.table_group(table_id), {"type": "share.changed", "view": view_id}
        ),
    )


def schema_changed(table_id) -> None:
    """records.meta_events subscriber: the fields of `table_id` changed (after commit).

    bases/ announces it (schema edits, meta sync, table deletion); every socket of the table
    reloads the page shape, each re-checking its visible fields first."""
    broadcast.table_changed(table_id, "schema.changed")
