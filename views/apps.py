from django.apps import AppConfig


class ViewsConfig(AppConfig):
    name = "views"
    verbose_name = "Views and pages"

    def ready(self):
        # Realtime: record writes and metadata changes (after commit) reach the sockets.
        from records import dispatch, meta_events
        from views.realtime import broadcast, notices

        dispatch.subscribe(
            "realtime", broadcast.records_changed, phase=dispatch.AFTER_COMMIT
        )
        meta_events.subscribe(
            "realtime", schema=notices.schema_changed, access=broadcast.access_changed
        )
        _records_api_views()


def _records_api_views() -> None:
    """The records API applies a view named by `viewId`; bases/ does not import views/."""
    from bases import records_api
    from views.models import View

    def view_of(table, view_id):
        return View.objects.filter(pk=view_id, table_id=table.pk).first()

    records_api.view_lookup = view_of
