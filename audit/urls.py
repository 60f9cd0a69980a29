from django.urls import path

from audit import pages

urlpatterns = [
    path("bases/<str:base_id>/activity/", pages.activity, name="activity"),
]
