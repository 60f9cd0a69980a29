"""The SSRF guard: private, loopback, link-local, CGNAT, multicast and metadata addresses are
refused at save and at send, in every spelling; redirects are not followed; the resolved address
is the one connected to."""

import socket

import pytest

from tests.webhooks.test_events import hook, records
from webhooks import http
from webhooks.delivery import drain
from webhooks.models import Webhook, WebhookEvent

pytestmark = pytest.mark.django_db

REFUSED = [
    "http://127.0.0.1/",
    "http://localhost:8000/x",  # a DNS name resolving privately
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://2130706433/",  # 127.0.0.1 in decimal
    "http://0177.0.0.1/",  # octal
    "http://0x7f.1/",  # hex, short form
    "http://[::1]/",
    "http://10.1.2.3/",
    "http://192.168.0.10/",
    "http://172.16.5.4/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://100.100.100.200/",  # Alibaba metadata
    "http://224.0.0.1/",  # multicast
    "http://0.0.0.0/",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[::127.0.0.1]/",  # IPv4-compatible form of 127.0.0.1
    "http://[::ffff:0:127.0.0.1]/",  # SIIT (IPv4-translated) form
    "http://[64:ff9b::10.0.0.1]/",  # NAT64 of a private address
    "http://[64:ff9b:1::7f00:1]/",  # local-use NAT64 prefix
    "http://[fec0::1]/",  # site-local
    "http://[::ffff:0:a9fe:a9fe]/",  # SIIT form of the metadata address
]


@pytest.fixture
def no_private(settings):
    settings.NOCO_WEBHOOKS_ALLOW_PRIVATE = False


@pytest.mark.parametrize("url", REFUSED)
def test_refused_at_save(api, tasks_table, no_private, url):
    res = api.post(
        f"/api/v2/meta/tables/{tasks_table.pk}/hooks",
        {"title": "x", "url": url},
        format="json",
    )
    assert res.status_code == 400, (url, res.content)
    assert res.json()["error"] == "WEBHOOK_URL_REFUSED", res.json()
    assert not Webhook.objects.exists()


def test_public_addresses_pass_the_check(no_private):
    for address in ("8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1"):
        assert http.refusal(address) is None


def test_only_http_and_https(api, tasks_table):
    for url in ("file:///etc/passwd", "gopher://x/", "ftp://a/", "javascript:alert(1)"):
        res = api.post(
            f"/api/v2/meta/tables/{tasks_table.pk}/hooks",
            {"title": "x", "url": url},
            format="json",
        )
        assert res.status_code == 400, url


def test_metadata_stays_refused_even_when_private_is_allowed():
    assert http.refusal("169.254.169.254", allow_private=True)
    assert http.refusal("::ffff:169.254.169.254", allow_private=True)
    assert http.refusal("127.0.0.1", allow_private=True) is None


def test_refused_at_send_time_without_retry(api, tasks_table, receiver, settings):
    """Saved while allowed, then the setting is turned off: the call is refused at send."""
    made = hook(api, tasks_table, url=receiver.url, events=["insert"])
    settings.NOCO_WEBHOOKS_ALLOW_PRIVATE = False
    api.post(records(tasks_table), {"title": "a"}, format="json")
    drain()
    assert receiver.requests == []
    event = WebhookEvent.objects.get()
    assert event.status == "failed" and event.attempts == 1
    [entry] = api.get(f"/api/v2/meta/hooks/{made['id']}/logs").json()["list"]
    assert "loopback" in entry["error"]


def test_redirect_to_a_private_address_is_not_followed(api, tasks_table, receiver):
    from tests.webhooks.receiver import start_receiver

    target, server = start_receiver()
    try:
        made = hook(api, tasks_table, url=receiver.url, events=["insert"])
        receiver.plan.extend([("redirect", target.url)] * 3)
        api.post(records(tasks_table), {"title": "a"}, format="json")
        drain()
        assert len(receiver.requests) == 3  # every attempt refused the redirect...
        assert target.requests == []  # ...and never went where it pointed
        entry = api.get(f"/api/v2/meta/hooks/{made['id']}/logs").json()["list"][0]
        assert entry["status"] == 302 and not entry["ok"]
        assert "not followed" in entry["error"]
    finally:
        server.shutdown()
        server.server_close()


def test_the_resolved_address_is_pinned(receiver, monkeypatch):
    """The name is resolved once; the connection goes to that address, the Host header keeps
    the name, so a second (rebinding) DNS answer is never used."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    answers = iter(["127.0.0.1", "169.254.169.254"])
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "hooks.example.test":
            ip = next(answers)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    reply = http.send(
        "POST",
        f"http://hooks.example.test:{port}/hook",
        headers={"Content-Type": "application/json"},
        body=b"{}",
        timeout=2,
    )
    assert reply.ok, reply.error
    [r] = receiver.requests
    assert r.headers["Host"] == f"hooks.example.test:{port}"
    # The second answer (metadata) was never asked for: one resolution per send.
    assert next(answers) == "169.254.169.254"
