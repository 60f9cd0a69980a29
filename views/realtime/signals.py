"""Metadata changes written outside views/ -> realtime notices, after the meta DB commits.

- a Field saved or deleted   -> `schema.changed` to the table's sockets (they reload the page
  shape; each re-checks its visible fields first);
- a Membership, TableRole or FieldRule saved or deleted -> `access.changed` to every socket of
  the base, which re-checks its user's rights at once (a removed member is cut off).

Views and shares are announced by their services' explicit calls (notices.py). Fields and
roles are written by bases/ and permissions/, which do not import views/: until they announce
their changes through a dispatch of their own, these two stay signal receivers.

Many changes in one transaction (a schema sync saves many fields) give one notice per table.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from views.realtime import broadcast
from views.realtime.notices import once as _once


def _field_changed(sender, instance, **kwargs):
    table_id = instance.table_id
    if table_id and broadcast.listening(table_id):
        _once(
            ("schema", table_id),
            lambda: broadcast.table_changed(table_id, "schema.changed"),
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


def connect() -> None:
    from bases.models import Field
    from permissions.models import FieldRule, Membership, TableRole

    for signal in (post_save, post_delete):
        signal.connect(
            _field_changed, sender=Field, dispatch_uid=f"rt-field-{id(signal)}"
        )
        for model in (Membership, TableRole, FieldRule):
            signal.connect(
                _access_changed,
                sender=model,
                dispatch_uid=f"rt-access-{model.__name__}-{id(signal)}",
            )
