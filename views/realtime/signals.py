"""Metadata changes -> realtime notices, after the meta DB commits.

- a Field saved or deleted   -> `schema.changed` to the table's sockets (they reload the page
  shape; each re-checks its visible fields first);
- a View saved or deleted    -> `view.changed` {view} (the tab that changed it is skipped);
  when only a kanban's dragged card order moved -> `cards.ordered` {view, orders} instead
  (the other kanban pages re-order those stacks' cards, no refresh needed);
- a Membership, TableRole or FieldRule saved or deleted -> `access.changed` to every socket of
  the base, which re-checks its user's rights at once (a removed member is cut off);
- a ViewShare saved or deleted (revoked, regenerated, password changed) -> `share.changed`
  {view}: the visitors' sockets of that view check their link again at once.

Many changes in one transaction (a schema sync saves many fields) give one notice per table.
"""

from __future__ import annotations

import threading

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save

from bases.changes import write_origin
from views.realtime import broadcast

_pending: set[tuple] = set()
_lock = threading.Lock()


def _once(key: tuple, fn) -> None:
    with _lock:
        if key in _pending:
            return
        _pending.add(key)

    def run():
        with _lock:
            _pending.discard(key)
        fn()

    transaction.on_commit(run)


def _field_changed(sender, instance, **kwargs):
    table_id = instance.table_id
    if table_id and broadcast.listening(table_id):
        _once(
            ("schema", table_id),
            lambda: broadcast.table_changed(table_id, "schema.changed"),
        )


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


def _view_loaded(sender, instance, **kwargs):
    instance._rt_shape = _shape(instance) if instance.pk else None
    instance._rt_order = _card_order(instance) if instance.pk else None


def _view_changed(sender, instance, **kwargs):
    table_id, view_id = instance.table_id, instance.pk
    if not broadcast.listening(table_id):
        return
    if kwargs.get("created"):
        return  # a new view changes nothing on the pages showing others
    origin = write_origin.get()
    if kwargs.get("signal") is post_save:
        order, before = _card_order(instance), getattr(instance, "_rt_order", None)
        instance._rt_order = order
        if getattr(instance, "_rt_shape", None) == _shape(instance):
            # Only the layout, the title or a kanban's dragged order moved.
            if before is not None and order != before:
                orders = {
                    stack: [str(i) for i in ids[:MAX_ORDERED]]
                    for stack, ids in order.items()
                    if before.get(stack) != ids and isinstance(ids, list)
                }
                # The stack field: sockets that cannot see it are not sent its stack
                # names and card order (views/realtime/consumer.table_notice).
                stack_field = (instance.options or {}).get("stack_field")
                _once(
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
        instance._rt_shape = _shape(instance)
    deleted = kwargs.get("signal") is post_delete
    _once(
        ("view", view_id),
        lambda: broadcast.table_changed(
            table_id, "view.changed", view=view_id, deleted=deleted, origin=origin
        ),
    )


def _base_of(instance):
    try:
        if hasattr(instance, "base_id"):
            return instance.base_id
        if hasattr(instance, "table_id"):
            from bases.models import Table

            return (
                Table.objects.filter(pk=instance.table_id)
                .values_list("base_id", flat=True)
                .first()
            )
        if hasattr(instance, "field_id"):
            from bases.models import Field

            return (
                Field.objects.filter(pk=instance.field_id)
                .values_list("table__base_id", flat=True)
                .first()
            )
    except Exception:  # the parent went in the same cascade
        return None
    return None


def _access_changed(sender, instance, **kwargs):
    if not broadcast.anyone_listening():
        return
    base_id = _base_of(instance)
    if base_id:
        _once(("access", base_id), lambda: broadcast.access_changed(base_id))


def _share_changed(sender, instance, **kwargs):
    view_id = instance.view_id
    from views.models import View

    table_id = (
        View.objects.filter(pk=view_id).values_list("table_id", flat=True).first()
    )
    if table_id is None or not broadcast.listening(table_id):
        return  # the view went too: its `view.changed` closes the visitors' sockets
    _once(
        ("share", view_id),
        lambda: broadcast.send(
            broadcast.table_group(table_id), {"type": "share.changed", "view": view_id}
        ),
    )


def connect() -> None:
    from bases.models import Field
    from permissions.models import FieldRule, Membership, TableRole
    from views.models import View, ViewShare

    post_init.connect(_view_loaded, sender=View, dispatch_uid="rt-view-init")
    for signal in (post_save, post_delete):
        signal.connect(
            _field_changed, sender=Field, dispatch_uid=f"rt-field-{id(signal)}"
        )
        signal.connect(_view_changed, sender=View, dispatch_uid=f"rt-view-{id(signal)}")
        signal.connect(
            _share_changed, sender=ViewShare, dispatch_uid=f"rt-share-{id(signal)}"
        )
        for model in (Membership, TableRole, FieldRule):
            signal.connect(
                _access_changed,
                sender=model,
                dispatch_uid=f"rt-access-{model.__name__}-{id(signal)}",
            )
