from django.urls import path

from permissions import pages

urlpatterns = [
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
