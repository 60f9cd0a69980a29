from django.urls import path

from permissions import oidc_pages, pages

urlpatterns = [
    path("login/oidc/<str:provider>/", oidc_pages.oidc_login, name="oidc_login"),
    path(
        "login/oidc/<str:provider>/callback/",
        oidc_pages.oidc_callback,
        name="oidc_callback",
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
