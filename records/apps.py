from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """The change event of a record write and its dispatch (no models).

    Listed before the apps that subscribe to it (history, webhooks, views): they register in
    their own AppConfig.ready()."""

    name = "records"
    verbose_name = "Record change events"
