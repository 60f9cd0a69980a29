"""Websocket routes: one socket per browser tab showing a table (views/realtime/consumer.py)."""

from django.urls import path

from views.realtime.consumer import TableConsumer

websocket_urlpatterns: list = [
    path("ws/tables/<str:table_id>/", TableConsumer.as_asgi()),
]
