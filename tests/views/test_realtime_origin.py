"""The websocket handshake's Origin must be exactly the page's origin (scheme, host and port).

A page on another port of the same host is another origin (another app, or a user's own
server): it must not open a socket that carries the visitor's session. The sockets go through
the real ASGI application (nocoplatform.asgi), as uvicorn would hand them over.
"""

from __future__ import annotations

import pytest
from django.test import Client

from bases.demo import create_demo_base
from permissions.checks import Actor
from tests.views.test_realtime import fresh_layer, run  # noqa: F401 - the layer fixture
from views import shares
from views.services import view_create

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "127.0.0.1:8000"


@pytest.fixture
def projects(user):
    return create_demo_base(user).tables.get(title="projects")


@pytest.fixture
def session_cookie(user):
    c = Client()
    c.force_login(user)
    return f"sessionid={c.cookies['sessionid'].value}"


@pytest.fixture
def share_token(projects, user):
    view = view_create(
        actor=Actor(user=user), table=projects, title="Public", type="grid"
    )
    return shares.share_enable(actor=Actor(user=user), view=view).token


def attempt(path, *, origin=None, host=HOST, cookie="", scheme="ws", extra=()):
    """Open a socket to `path` through the ASGI app; True when it was accepted."""
    from channels.testing import WebsocketCommunicator

    from nocoplatform.asgi import application

    headers = [(b"cookie", cookie.encode())]
    if host is not None:
        headers.append((b"host", host.encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    headers.extend(extra)
    result = {}

    async def scenario():
        comm = WebsocketCommunicator(application, path, headers=headers)
        comm.scope["scheme"] = scheme
        ok, _ = await comm.connect()
        result["ok"] = ok
        if ok:
            await comm.disconnect()

    run(scenario)
    return result["ok"]


@pytest.mark.parametrize("allowed", [["*"], ["127.0.0.1", "localhost"]])
def test_table_socket_accepts_only_the_exact_origin(
    projects, session_cookie, settings, allowed
):
    settings.ALLOWED_HOSTS = allowed  # "*" is the `make run` profile's default
    path = f"/ws/tables/{projects.pk}/?client=o"

    def ok(origin, **kw):
        return attempt(path, origin=origin, cookie=session_cookie, **kw)

    assert ok("http://127.0.0.1:8000")
    # Same host, another port: another origin.
    assert not ok("http://127.0.0.1:9999")
    assert not ok("http://127.0.0.1")  # port 80
    # Same host and port, another scheme.
    assert not ok("https://127.0.0.1:8000")
    # Another host name for the same machine is another origin too.
    assert not ok("http://localhost:8000")
    assert not ok("http://evil.example")
    # The page's origin of an opaque document (sandboxed frame, file://) is "null".
    assert not ok("null")
    # A handshake without Origin is not a browser's: refused (the sockets serve our pages).
    assert not ok(None)
    # Default ports are the same origin whether written or not.
    assert attempt(
        path, origin="http://localhost", host="localhost:80", cookie=session_cookie
    )
    # Host names compare without regard to case (browsers lower-case them anyway).
    assert ok("http://127.0.0.1:8000", host="127.0.0.1:8000".upper())


def test_a_host_that_is_not_allowed_is_refused(projects, session_cookie, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    path = f"/ws/tables/{projects.pk}/?client=o"
    assert not attempt(
        path, origin="http://evil.example", host="evil.example", cookie=session_cookie
    )
    # No Host header at all: nothing to compare with.
    assert not attempt(
        path, origin="http://127.0.0.1:8000", host=None, cookie=session_cookie
    )


def test_tls_sockets_need_the_https_origin(projects, session_cookie, settings):
    settings.ALLOWED_HOSTS = ["app.example.com"]
    path = f"/ws/tables/{projects.pk}/?client=o"

    def ok(origin, **kw):
        return attempt(
            path, origin=origin, host="app.example.com", cookie=session_cookie, **kw
        )

    assert ok("https://app.example.com", scheme="wss")
    assert not ok("http://app.example.com", scheme="wss")
    assert not ok("https://app.example.com:8443", scheme="wss")
    # Behind a TLS-terminating proxy the socket arrives as ws: without a proxy header setting
    # the https page's origin is refused, as Django's CSRF check refuses its forms.
    assert not ok("https://app.example.com", scheme="ws")
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proto = [(b"x-forwarded-proto", b"https")]
    assert ok("https://app.example.com", scheme="ws", extra=proto)
    assert not ok("http://app.example.com", scheme="ws", extra=proto)


def test_csrf_trusted_origins_are_accepted_exactly(projects, session_cookie, settings):
    """A proxy that rewrites Host (internal address) is served through CSRF_TRUSTED_ORIGINS,
    which Django's form check honours too, with its `*.` subdomain patterns."""
    settings.ALLOWED_HOSTS = ["10.0.0.5"]
    settings.CSRF_TRUSTED_ORIGINS = [
        "https://app.example.com",
        "https://*.corp.example",
    ]
    path = f"/ws/tables/{projects.pk}/?client=o"

    def ok(origin):
        return attempt(path, origin=origin, host="10.0.0.5:8000", cookie=session_cookie)

    assert ok("https://app.example.com")
    assert ok("https://team.corp.example")
    assert not ok("https://app.example.com:444")
    assert not ok("http://app.example.com")
    assert not ok("https://app.example.com.evil.example")
    assert not ok("https://other.example.com")


def test_shared_view_socket_checks_the_origin_too(share_token, settings):
    settings.ALLOWED_HOSTS = ["*"]
    path = f"/s/{share_token}/ws?client=v"
    assert attempt(path, origin="http://127.0.0.1:8000")
    assert not attempt(path, origin="http://127.0.0.1:9999")
    assert not attempt(path, origin=None)
