from django.contrib.auth import views as auth_views
from django.urls import path

from views import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", pages.signup, name="signup"),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(success_url="/account/password/done/"),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("account/tokens/", pages.tokens, name="tokens"),
    path(
        "account/tokens/<int:token_id>/revoke", pages.token_revoke, name="token_revoke"
    ),
    path("bases/new/", pages.base_new, name="base_new"),
    path("bases/connection-test", pages.connection_test, name="connection_test"),
    path("bases/<str:base_id>/", pages.base_page, name="base"),
    path(
        "bases/<str:base_id>/settings/", pages.source_settings, name="source_settings"
    ),
    path("bases/<str:base_id>/sync/", pages.sync_diff, name="sync_diff"),
    path("bases/<str:base_id>/api/", pages.swagger, name="swagger"),
    path("bases/<str:base_id>/tables/<str:table_id>/", pages.table_page, name="table"),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/rows", pages.row_add, name="row_add"
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/rows/<str:record_id>/delete",
        pages.row_delete,
        name="row_delete",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/cells/<str:record_id>/<str:field_id>",
        pages.cell,
        name="cell",
    ),
    path(
        "bases/<str:base_id>/fields/<str:field_id>/delete",
        pages.field_delete,
        name="field_delete",
    ),
]
