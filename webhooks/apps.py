from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        # Outbox rows of every record write, tied to the write's transaction; the previous rows
        # are read before it (records/dispatch.py).
        from records import dispatch
        from webhooks import events

        dispatch.subscribe(
            "webhooks",
            events.records_changed,
            phase=dispatch.IN_TRANSACTION,
            prepare=events.prepare,
        )
