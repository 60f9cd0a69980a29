"""The base pages (bases/pages.py)."""

from django.urls import path

from bases import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("bases/new/", pages.base_new, name="base_new"),
    path("bases/connection-test", pages.connection_test, name="connection_test"),
    path("bases/<str:base_id>/", pages.base_page, name="base"),
    path(
        "bases/<str:base_id>/settings/", pages.source_settings, name="source_settings"
    ),
    path("bases/<str:base_id>/sync/", pages.sync_diff, name="sync_diff"),
    path("bases/<str:base_id>/api/", pages.swagger, name="swagger"),
    path("bases/<str:base_id>/diagram/", pages.erd_page, name="erd"),
    path("bases/<str:base_id>/graphql/", pages.graphiql, name="graphiql"),
    path(
        "bases/<str:base_id>/fields/<str:field_id>/delete",
        pages.field_delete,
        name="field_delete",
    ),
]
