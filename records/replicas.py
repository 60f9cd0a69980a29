"""Read-your-writes for sources with read replicas: a subscriber of every record write."""

from bases.connections import replicas
from records.events import RecordsChanged


def records_changed(event: RecordsChanged) -> None:
    replicas.note_write(event.table.source, event.actor.user)
