"""ASGI entry point: HTTP through Django, websockets through Channels (consumers come with realtime)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nocoplatform.settings.local")
django_asgi_app = get_asgi_application()

from webhooks import dispatcher  # noqa: E402

# Embedded runner (no Redis): deliver events left in the outbox by a previous run right away.
dispatcher.start()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from nocoplatform.asgi_guard import BodyGuard  # noqa: E402
from nocoplatform.routing import websocket_urlpatterns  # noqa: E402
from views.realtime.origin import ExactOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Body limits and authentication before Django reads a body (asgi_guard.py).
        "http": BodyGuard(django_asgi_app),
        # The handshake's Origin must be exactly our own (views/realtime/origin.py).
        "websocket": ExactOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

from nocoplatform import gctune  # noqa: E402

gctune.tune()  # last: everything loaded above is frozen out of the collector's way
