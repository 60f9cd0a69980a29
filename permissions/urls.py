"""Account pages (permissions/account_pages.py), members, invites and comments
(permissions/pages.py)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from permissions import account_pages, oidc_pages, pages

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("login/oidc/<str:provider>/", oidc_pages.oidc_login, name="oidc_login"),
    path(
        "login/oidc/<str:provider>/callback/",
        oidc_pages.oidc_callback,
        name="oidc_callback",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", account_pages.signup, name="signup"),
    path(
        "account/password/",
        account_pages.PasswordChangeView.as_view(success_url="/account/password/done/"),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("account/tokens/", account_pages.tokens, name="tokens"),
    path(
        "account/tokens/<int:token_id>/revoke",
        account_pages.token_revoke,
        name="token_revoke",
    ),
    path("bases/<str:base_id>/members/", pages.members, name="members"),
    path("invites/<str:token>/", pages.invite_accept, name="invite_accept"),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/rows/<str:record_id>/comments",
        pages.comments_partial,
        name="comments_partial",
    ),
    path(
        "comments/<int:comment_id>/delete", pages.comment_delete, name="comment_delete"
    ),
    path("comments/<int:comment_id>/edit", pages.comment_edit, name="comment_edit"),
]
