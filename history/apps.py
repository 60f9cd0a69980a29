from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "history"
    verbose_name = "Record history"

    def ready(self):
        # Every record write's entries, tied to the write's transaction (records/dispatch.py).
        from history import backfill, services, trash
        from records import dispatch, meta_events

        dispatch.subscribe(
            "history", services.records_changed, phase=dispatch.IN_TRANSACTION
        )
        # Deleted rows, restorable for NOCO_TRASH_DAYS (history/trash.py).
        dispatch.subscribe(
            "trash",
            trash.records_changed,
            phase=dispatch.IN_TRANSACTION,
            prepare=trash.prepare,
        )
        # A new CreatedBy, LastModifiedTime… column: filled from the entries (history/backfill.py).
        meta_events.subscribe("history", column=backfill.column_added)
