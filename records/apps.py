from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """The change event of a record write and its dispatch (no models).

    Listed before the apps that subscribe to it (history, webhooks, views): they register in
    their own AppConfig.ready()."""

    name = "records"
    verbose_name = "Record change events"

    def ready(self):
        # First subscriber: a user who writes to a source with read replicas reads from its
        # primary for a while (read-your-writes, bases/connections/replicas.py).
        from records import dispatch, replicas

        dispatch.subscribe(
            "read-your-writes", replicas.records_changed, phase=dispatch.IN_TRANSACTION
        )
