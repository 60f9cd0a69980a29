from django.urls import path

from webhooks import pages

urlpatterns = [
    path(
        "bases/<str:base_id>/tables/<str:table_id>/webhooks/",
        pages.webhook_list_page,
        name="webhooks",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/webhooks/<str:hook_id>/",
        pages.webhook_page,
        name="webhook",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/webhooks/<str:hook_id>/<str:action>",
        pages.webhook_action,
        name="webhook_action",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/rows/<str:record_id>/send",
        pages.row_send_panel,
        name="webhook_row_send",
    ),
]
