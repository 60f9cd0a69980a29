"""Every page carries the Content-Security-Policy of settings.SECURE_CSP (nocoplatform/csp.py).

What the policy does in a browser (nothing blocked on the real pages, an injected script not
run) is tested in tests/browser/test_csp.py; here: which responses carry which header.
"""

import importlib

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_pages_carry_the_strict_policy(web):
    r = web.get("/")
    assert r.status_code == 200
    csp = directives(r)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert {"'self'", "data:", "blob:"} <= set(csp["img-src"])
    # The realtime socket: this host's ws/wss, for browsers whose 'self' leaves them out.
    assert csp["connect-src"] == ["'self'", "ws://testserver", "wss://testserver"]


@pytest.mark.parametrize("path", ["/login/", "/signup/", "/no-such-page/"])
def test_anonymous_pages_and_errors_carry_it(path):
    r = Client().get(path)
    assert "script-src 'self'" in r["Content-Security-Policy"]


def test_public_links_carry_it(web, user):
    from bases.demo import create_demo_base
    from permissions.checks import Actor
    from views import shares
    from views.services import view_create

    table = create_demo_base(user).tables.get(title="clients")
    grid = view_create(actor=Actor(user=user), table=table, title="G", type="grid")
    form = view_create(actor=Actor(user=user), table=table, title="F", type="form")
    anon = Client()
    for path in (
        f"/s/{shares.share_enable(actor=Actor(user=user), view=grid).token}/",
        f"/f/{shares.share_enable(actor=Actor(user=user), view=form).token}/",
    ):
        r = anon.get(path)
        assert r.status_code == 200
        assert directives(r)["frame-ancestors"] == ["'none'"]


def test_a_view_with_its_own_policy_keeps_it(web, settings):
    """Attachments are served with `default-src 'none'; sandbox`: not loosened to the pages'."""
    from django.http import HttpResponse

    from nocoplatform.csp import ContentSecurityPolicyMiddleware

    own = HttpResponse("x")
    own["Content-Security-Policy"] = "default-src 'none'; sandbox"
    mw = ContentSecurityPolicyMiddleware(lambda request: own)
    from django.test import RequestFactory

    response = mw(RequestFactory().get("/"))
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_an_unknown_host_gets_no_socket_source(settings):
    """The ws/wss sources come from the Host only once Django has accepted it."""
    settings.ALLOWED_HOSTS = ["testserver"]
    r = Client().get("/login/", HTTP_HOST="evil.example")
    assert r.status_code == 400
    assert "evil.example" not in r.get("Content-Security-Policy", "")


def test_external_images_can_be_switched_off(monkeypatch):
    import nocoplatform.settings.base as base

    monkeypatch.setenv("NOCO_CSP_EXTERNAL_IMAGES", "false")
    try:
        strict = importlib.reload(base).SECURE_CSP["img-src"]
        monkeypatch.delenv("NOCO_CSP_EXTERNAL_IMAGES")
        default = importlib.reload(base).SECURE_CSP["img-src"]
    finally:
        importlib.reload(base)
    assert strict == ["'self'", "data:", "blob:"]
    # By default a URL field's image (gallery covers, form covers) loads from anywhere.
    assert default == ["'self'", "data:", "blob:", "https:", "http:"]


def test_debug_error_pages_go_without_it(settings):
    """Django's DEBUG 404/500 pages run inline scripts and styles; only with DEBUG=True."""
    settings.DEBUG = True
    assert "Content-Security-Policy" not in Client().get("/no-such-page/")
    assert "Content-Security-Policy" in Client().get("/login/")
    settings.DEBUG = False
    assert "Content-Security-Policy" in Client().get("/no-such-page/")
