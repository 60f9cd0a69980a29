"""Websocket routes (views/realtime/consumer.py): one socket per browser tab showing a table,
and one per visitor of a shared view (under the link's path, so its password cookie is sent)."""

from django.urls import path

from views.realtime.consumer import ShareConsumer, TableConsumer

websocket_urlpatterns: list = [
    path("ws/tables/<str:table_id>/", TableConsumer.as_asgi()),
    path("s/<str:token>/ws", ShareConsumer.as_asgi()),
]
