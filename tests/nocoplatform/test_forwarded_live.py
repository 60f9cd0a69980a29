"""A real server started exactly as `make run` starts it: X-Forwarded-For from the local
machine is not believed unless NOCO_TRUSTED_PROXIES says so, so rotating it does not escape
the share-password, public-form and login limits."""

import os
import re
import secrets
import shlex
import subprocess
import sys
import time

import pytest
import requests
from django.conf import settings

from tests.conftest import LIVE_ROOT, LiveServer, _free_port, service_missing

SETUP = """
from bases.models import Base
from django.contrib.auth import get_user_model
from permissions.checks import Actor
from views import form_view, services, shares
user = get_user_model().objects.get(email="admin@example.com")
actor = Actor(user=user)
clients = Base.objects.get(title="Demo CRM", memberships__user=user).tables.get(title="clients")
f = {x.title: x.pk for x in clients.fields.all()}
shared = shares.share_enable(actor=actor, view=services.default_view(clients))
shares.share_update(actor=actor, share=shared, password="open-sesame-1")
form = services.view_create(actor=actor, table=clients, title="Contact", type="form")
form_view.form_config_save(actor=actor, view=form, data={
    "title": "Contact", "after": "another", "message": "Thanks.",
    "fields": [{"id": f["name"], "required": True}]})
print(shared.token, shares.share_enable(actor=actor, view=form).token, f["name"])
"""


def make_run_command(port: int, env: dict) -> list[str]:
    """The server line of `make run` (dry run), with this interpreter's uvicorn."""
    out = subprocess.run(
        ["make", "-n", "-s", "run", f"PORT={port}", "HOST=127.0.0.1"],
        cwd=LIVE_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = [cmd for cmd in out.splitlines() if "uvicorn " in cmd][-1]
    argv = shlex.split(line)
    assert argv[0].endswith("uvicorn"), line
    return [sys.executable, "-m", "uvicorn", *argv[1:]]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    var = tmp_path_factory.mktemp("fwd-var")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
        "NOCO_VAR_DIR": str(var),
        "NOCO_ADMIN_EMAIL": "admin@example.com",
        "NOCO_ADMIN_PASSWORD": "live-pass-12345",
        "NOCO_SHARE_PASSWORD_ATTEMPTS": "3",
        "NOCO_FORM_RATE_LIMIT": "3",
        "NOCO_LOGIN_FAILURE_LIMIT": "3",
    }
    env.pop("NOCO_TRUSTED_PROXIES", None)
    server = LiveServer("", env)
    for cmd in (
        ["migrate", "--noinput", "-v0"],
        ["ensure_admin"],
        ["create_demo_base"],
    ):
        server.manage(*cmd)
    shared, form, name_field = server.manage("shell", "-c", SETUP).split()[-3:]
    return env, shared, form, name_field


def _serve(env: dict):
    port = _free_port()
    proc = subprocess.Popen(
        make_run_command(port, env),
        cwd=LIVE_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(url + "/login/", timeout=1)
            break
        except requests.ConnectionError:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode()) from None
            time.sleep(0.1)
    return proc, url


@pytest.fixture
def server(prepared):
    env, shared, form, name_field = prepared
    servers = []

    def start(**extra):
        proc, url = _serve({**env, **extra})
        servers.append(proc)
        return url

    yield start, shared, form, name_field
    for proc in servers:
        proc.terminate()
        proc.wait(10)


def _csrf(session: requests.Session, url: str) -> str:
    html = session.get(url, timeout=10).text
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def post(url: str, data: dict, forwarded: str) -> requests.Response:
    """A fresh visitor (own cookies) posting the page's form, claiming `forwarded`."""
    s = requests.Session()
    token = _csrf(s, url)
    return s.post(
        url,
        data={**data, "csrfmiddlewaretoken": token},
        headers={"X-Forwarded-For": forwarded},
        allow_redirects=False,
        timeout=30,
    )


def test_rotating_forwarded_for_does_not_escape_the_share_password_limit(server):
    start, shared, _, _ = server
    url = start() + f"/s/{shared}/"
    codes = [
        post(url, {"password": "wrong"}, f"203.0.113.{n}").status_code for n in range(4)
    ]
    assert codes == [403, 403, 403, 429]


def test_rotating_forwarded_for_does_not_escape_the_form_rate_limit(server):
    start, _, form, name_field = server
    url = start() + f"/f/{form}/"
    codes = [
        post(url, {name_field: f"Visitor {n}"}, f"203.0.113.{n}").status_code
        for n in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def forget_login_failures(env):
    LiveServer("", env).manage("axes_reset")


def test_rotating_forwarded_for_does_not_escape_the_login_lockout(server, prepared):
    forget_login_failures(prepared[0])
    start, _, _, _ = server
    url = start() + "/login/"
    codes = [
        post(
            url,
            {"username": f"nobody{n}@example.com", "password": "wrong"},
            f"203.0.113.{n}",
        ).status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]
    # Locked by address: even the right password of another account waits.
    right = {"username": "admin@example.com", "password": "live-pass-12345"}
    assert post(url, right, "203.0.113.99").status_code == 429


def test_a_configured_proxy_passes_on_the_client_address(server, prepared):
    forget_login_failures(prepared[0])
    start, shared, _, _ = server
    base = start(NOCO_TRUSTED_PROXIES="127.0.0.1")
    url = base + f"/s/{shared}/"
    codes = [
        post(url, {"password": "wrong"}, "203.0.113.5").status_code for _ in range(4)
    ]
    assert codes == [403, 403, 403, 429]
    # Another client behind the same proxy has its own count.
    assert post(url, {"password": "wrong"}, "203.0.113.6").status_code == 403
    # The login lockout counts the same address.
    login = base + "/login/"
    for n in range(3):
        post(login, {"username": f"x{n}@example.com", "password": "no"}, "198.51.100.1")
    right = {"username": "admin@example.com", "password": "live-pass-12345"}
    assert post(login, right, "198.51.100.1").status_code == 429
    assert post(login, right, "198.51.100.2").status_code == 302


@pytest.fixture
def pg_meta(tmp_path):
    """The local profile on a fresh PostgreSQL meta DB (as production keeps one)."""
    import psycopg

    url = settings.TEST_POSTGRES_URL
    name = "noco_meta_" + secrets.token_hex(4)
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        service_missing("PostgreSQL", exc)
    admin.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
        "NOCO_VAR_DIR": str(tmp_path),
        "DATABASE_URL": url.rsplit("/", 1)[0] + "/" + name,
        "NOCO_ADMIN_EMAIL": "admin@example.com",
        "NOCO_ADMIN_PASSWORD": "live-pass-12345",
        "NOCO_LOGIN_FAILURE_LIMIT": "3",
    }
    env.pop("NOCO_TRUSTED_PROXIES", None)
    server = LiveServer("", env)
    server.manage("migrate", "--noinput", "-v0")
    server.manage("ensure_admin")
    proc, base = _serve(env)
    yield base, server
    proc.terminate()
    proc.wait(10)
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


def test_login_lockout_on_a_postgresql_meta_db(pg_meta):
    base, server = pg_meta
    url = base + "/login/"
    right = {"username": "admin@example.com", "password": "live-pass-12345"}
    wrong = {**right, "password": "wrong"}
    assert [post(url, wrong, "203.0.113.1").status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    locked = post(url, right, "203.0.113.2")
    assert locked.status_code == 429 and "Try again after" in locked.text
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    server.manage("axes_reset")
    assert post(url, right, "203.0.113.2").status_code == 302
