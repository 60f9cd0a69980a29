from django.apps import AppConfig


class ViewsConfig(AppConfig):
    name = "views"
    verbose_name = "Views and pages"

    def ready(self):
        # Realtime: record writes (after commit) and metadata changes reach the table sockets.
        from records import dispatch
        from views.realtime import broadcast, signals

        dispatch.subscribe(
            "realtime", broadcast.records_changed, phase=dispatch.AFTER_COMMIT
        )
        signals.connect()
        _records_api_views()


def _records_api_views() -> None:
    """The records API applies a view named by `viewId`; bases/ does not import views/."""
    from bases import records_api
    from views.models import View

    def view_of(table, view_id):
        return View.objects.filter(pk=view_id, table_id=table.pk).first()

    records_api.view_lookup = view_of
