from django.urls import path

from history import pages

urlpatterns = [
    # Deleted rows (history/trash.py): the table's panel, and the grid's undo of a delete.
    path(
        "bases/<str:base_id>/tables/<str:table_id>/trash",
        pages.table_trash,
        name="table_trash",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/trash/restore",
        pages.trash_restore,
        name="table_trash_restore",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/rows/<str:record_id>/history",
        pages.record_history,
        name="record_history",
    ),
]
