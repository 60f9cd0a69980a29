from django.urls import path

from history import pages

urlpatterns = [
    path(
        "bases/<str:base_id>/tables/<str:table_id>/rows/<str:record_id>/history",
        pages.record_history,
        name="record_history",
    ),
]
