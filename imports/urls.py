from django.urls import path

from imports import newtable_pages, pages

urlpatterns = [
    path(
        "bases/<str:base_id>/tables/<str:table_id>/import",
        pages.table_import,
        name="table_import",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/import/<str:job_id>",
        pages.import_job,
        name="import_job",
    ),
    path("bases/<str:base_id>/import", newtable_pages.base_import, name="base_import"),
    path(
        "bases/<str:base_id>/import/<str:job_id>",
        newtable_pages.base_import_job,
        name="base_import_job",
    ),
    path(
        "bases/<str:base_id>/import/<str:job_id>/cancel",
        newtable_pages.base_import_job_cancel,
        name="base_import_job_cancel",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/import/<str:job_id>/cancel",
        pages.import_job_cancel,
        name="import_job_cancel",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/import/<str:job_id>/refused.csv",
        pages.import_job_refused,
        name="import_job_refused",
    ),
]
