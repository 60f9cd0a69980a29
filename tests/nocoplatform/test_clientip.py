"""The visitor's address: forwarded headers are believed only from NOCO_TRUSTED_PROXIES."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory

from bases.demo import create_demo_base
from nocoplatform import env
from nocoplatform.clientip import ForwardedProtoMiddleware, client_address, client_ip
from permissions.checks import Actor
from views import services, shares

rf = RequestFactory()


def req(remote="127.0.0.1", xff=None, **meta):
    if xff is not None:
        meta["HTTP_X_FORWARDED_FOR"] = xff
    return rf.get("/", REMOTE_ADDR=remote, **meta)


def test_without_trusted_proxies_forwarded_headers_are_ignored(settings):
    settings.NOCO_TRUSTED_PROXIES = []
    assert client_ip(req("127.0.0.1", "10.0.0.1")) == "127.0.0.1"
    assert client_ip(req("203.0.113.9", "10.0.0.1, 127.0.0.1")) == "203.0.113.9"


def test_the_rightmost_untrusted_hop_is_the_client(settings):
    settings.NOCO_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    # The client may put anything on the left; only what trusted proxies added counts.
    assert client_ip(req("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.2.3")) == (
        "198.51.100.7"
    )
    assert client_ip(req("10.9.9.9", "198.51.100.7")) == "198.51.100.7"
    # Several header lines are one list (servers join them with commas).
    assert client_ip(req("127.0.0.1", "198.51.100.7,10.0.0.2")) == "198.51.100.7"
    # A peer that is not a trusted proxy: its headers are ignored.
    assert client_ip(req("198.51.100.50", "1.2.3.4")) == "198.51.100.50"


def test_all_hops_trusted_gives_the_leftmost(settings):
    settings.NOCO_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    assert client_ip(req("127.0.0.1", "10.0.0.7, 10.0.0.8")) == "10.0.0.7"
    assert client_ip(req("127.0.0.1")) == "127.0.0.1"
    assert client_ip(req("127.0.0.1", "")) == "127.0.0.1"


def test_garbage_stops_at_the_last_address_believed(settings):
    settings.NOCO_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    assert client_ip(req("127.0.0.1", "1.2.3.4, not-an-ip, 10.0.0.3")) == "10.0.0.3"
    assert client_ip(req("127.0.0.1", "1.2.3.4, ,")) == "127.0.0.1"


def test_ports_brackets_and_ipv6_forms(settings):
    settings.NOCO_TRUSTED_PROXIES = ["::1", "127.0.0.1"]
    assert client_ip(req("::1", "198.51.100.7:4711")) == "198.51.100.7"
    assert client_ip(req("::1", "[2001:db8::1]:443")) == "2001:db8::1"
    assert client_ip(req("::1", "2001:DB8:0:0::1")) == "2001:db8::1"
    # An IPv4 address written as IPv6 is the same address (and the same trust).
    assert client_ip(req("::ffff:127.0.0.1", "198.51.100.7")) == "198.51.100.7"
    assert client_ip(req("127.0.0.1", "::ffff:198.51.100.7")) == "198.51.100.7"


def test_no_address_at_all():
    request = rf.get("/")
    del request.META["REMOTE_ADDR"]
    assert client_ip(request) is None and client_address(request) == "unknown"


def test_bad_setting_stops_the_start(monkeypatch):
    monkeypatch.setenv("NOCO_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example")
    with pytest.raises(ImproperlyConfigured, match="proxy.example"):
        env.get_networks("NOCO_TRUSTED_PROXIES")
    monkeypatch.setenv("NOCO_TRUSTED_PROXIES", " 10.0.0.1/8 ,::1")
    assert env.get_networks("NOCO_TRUSTED_PROXIES") == ["10.0.0.0/8", "::1/128"]
    monkeypatch.delenv("NOCO_TRUSTED_PROXIES")
    assert env.get_networks("NOCO_TRUSTED_PROXIES") == []


@pytest.mark.django_db
def test_share_password_limit_counts_the_forwarded_client_behind_a_trusted_proxy(
    settings, user
):
    """Through a configured proxy, each visitor has their own count; a visitor cannot
    escape theirs by writing their own X-Forwarded-For (the proxy appends the real one)."""
    cache.clear()
    settings.NOCO_TRUSTED_PROXIES = ["127.0.0.1"]
    settings.NOCO_SHARE_PASSWORD_ATTEMPTS = 2
    actor = Actor(user=user)
    base = create_demo_base(user)
    view = services.default_view(base.tables.get(title="clients"))
    share = shares.share_enable(actor=actor, view=view)
    shares.share_update(actor=actor, share=share, password="open sesame")
    url = f"/s/{share.token}/"
    proxy = Client(REMOTE_ADDR="127.0.0.1")
    for n in range(2):
        spoof = f"10.0.0.{n}, 198.51.100.7"
        assert (
            proxy.post(url, {"password": "x"}, HTTP_X_FORWARDED_FOR=spoof).status_code
            == 403
        )
    assert (
        proxy.post(
            url, {"password": "x"}, HTTP_X_FORWARDED_FOR="198.51.100.7"
        ).status_code
        == 429
    )
    assert (
        proxy.post(
            url, {"password": "x"}, HTTP_X_FORWARDED_FOR="198.51.100.8"
        ).status_code
        == 403
    )
    cache.clear()


def _scheme_seen(remote: str, proto: str) -> bool:
    seen = {}

    def view(request):
        seen["secure"] = request.is_secure()

    ForwardedProtoMiddleware(view)(
        rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_PROTO=proto)
    )
    return seen["secure"]


def test_forwarded_proto_counts_only_from_a_trusted_proxy(settings):
    settings.NOCO_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert _scheme_seen("10.0.0.2", "https") is True
    assert _scheme_seen("198.51.100.7", "https") is False
    assert _scheme_seen("10.0.0.2", "http") is False


def test_lockout_by_setting_is_read_and_checked():
    assert env.lockout_parameters(["username", "ip_address"]) == [
        "username",
        "ip_address",
    ]
    assert env.lockout_parameters(["username+ip_address", "ip_address"]) == [
        ["username", "ip_address"],
        "ip_address",
    ]
    for bad in (["user_agent"], ["username+cookie"], []):
        with pytest.raises(ImproperlyConfigured):
            env.lockout_parameters(bad)


def test_forwarded_proto_middleware_stays_async_under_asgi(settings):
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import iscoroutinefunction

    settings.NOCO_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    seen = {}

    async def view(request):
        seen["secure"] = request.is_secure()

    middleware = ForwardedProtoMiddleware(view)
    assert iscoroutinefunction(middleware)
    request = rf.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_PROTO="https")
    # Its own thread: browser tests may leave an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, middleware(request)).result(timeout=10)
    assert seen["secure"] is False
