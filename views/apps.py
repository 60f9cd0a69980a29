from django.apps import AppConfig


class ViewsConfig(AppConfig):
    name = "views"
    verbose_name = "Views and pages"

    def ready(self):
        # Realtime: record writes (after commit) and metadata changes reach the table sockets.
        from bases import changes
        from views.realtime import broadcast, signals

        changes.register(broadcast.rows_changed)
        signals.connect()
