"""Websocket routes. Empty until the realtime issue adds the table consumers."""

websocket_urlpatterns: list = []
