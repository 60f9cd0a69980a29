"""The production profile split over "machines" (issue 21; docs/deploy.md, "Several machines"):
two web processes — two granian servers on their own ports, as two machines behind the
load balancer — the websocket server and one Celery worker, on one PostgreSQL meta DB (a fresh
database on the machine's server) and one Redis (a throwaway redis-server of this test).

What one machine changes, the other sees at once: a record; a new field (metadata versions in
the meta DB); a revoked token (the auth cache's NOTIFY); a write on either reaches a socket of
the websocket server; a webhook fires once, delivered by the one worker.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from tests.conftest import LIVE_ROOT, prepare_site, service_missing, stop_processes
from tests.redis_process import RedisProcess
from tests.views.test_realtime_redis import _free_port
from tests.webhooks.receiver import start_receiver

SETUP = """
import json
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from bases.models import Base
from permissions.services import api_token_create
admin = get_user_model().objects.get(email="admin@example.com")
base = Base.objects.get(title="Demo CRM")
table = base.tables.get(title="projects")
_, token = api_token_create(user=admin, name="machines")
victim, victim_raw = api_token_create(user=admin, name="to revoke")
s = SessionStore()
s["_auth_user_id"] = str(admin.pk)
s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
s["_auth_user_hash"] = admin.get_session_auth_hash()
s.create()
print(json.dumps({"table": table.pk, "token": token, "victim": victim_raw,
                  "victim_id": victim.pk, "session": s.session_key}))
"""


def _wait_http(port: int, log) -> None:
    for _ in range(300):  # 60 s: a busy machine starts them slowly
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=10)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not start: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def machines(tmp_path_factory):
    import psycopg

    tmp = tmp_path_factory.mktemp("machines")
    redis = RedisProcess(tmp)
    redis.start()
    pg_url = settings.TEST_POSTGRES_URL
    db = "noco_machines_" + secrets.token_hex(4)
    try:
        admin_conn = psycopg.connect(pg_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        redis.kill()
        service_missing("PostgreSQL", exc)
    admin_conn.execute(f'CREATE DATABASE "{db}"')
    receiver, receiver_server = start_receiver()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.production",
        "DATABASE_URL": pg_url.rsplit("/", 1)[0] + "/" + db,
        "REDIS_URL": redis.url,
        "NOCO_VAR_DIR": str(tmp),
        "SECURE_COOKIES": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "NOCO_ADMIN_EMAIL": "admin@example.com",
        "NOCO_ADMIN_PASSWORD": "machines-pass-123",
        "NOCO_WEBHOOKS_ALLOW_PRIVATE": "true",
    }
    procs = []
    try:
        info = prepare_site(env, SETUP)
        bin_dir = os.path.dirname(sys.executable)
        ports = {"a": _free_port(), "b": _free_port(), "ws": _free_port()}

        def spawn(name, cmd):
            log = tmp / f"{name}.log"
            procs.append(
                subprocess.Popen(
                    cmd,
                    cwd=LIVE_ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=open(log, "w"),  # noqa: SIM115
                )
            )
            return log

        logs = {}
        for machine in ("a", "b"):
            logs[machine] = spawn(
                f"web-{machine}",
                [
                    os.path.join(bin_dir, "granian"),
                    "--interface",
                    "wsgi",
                    "nocoplatform.wsgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ports[machine]),
                    "--workers",
                    "1",
                    "--blocking-threads",
                    "1",
                    "--no-access-log",
                ],
            )
        logs["ws"] = spawn(
            "ws",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "nocoplatform.asgi:application",
                "--port",
                str(ports["ws"]),
                "--no-proxy-headers",
            ],
        )
        worker_log = spawn(
            "worker",
            [
                os.path.join(bin_dir, "celery"),
                "-A",
                "nocoplatform",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "4",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
        )
        for name in ("a", "b", "ws"):
            _wait_http(ports[name], logs[name])
        deadline = time.monotonic() + 60
        while "ready." not in worker_log.read_text():
            assert time.monotonic() < deadline, worker_log.read_text()[-2000:]
            time.sleep(0.1)
        yield {**info, "ports": ports, "receiver": receiver}
    finally:
        stop_processes(procs)
        receiver_server.shutdown()
        redis.kill()
        admin_conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin_conn.close()


def call(m, machine: str, method: str, path: str, body=None, token=None):
    """(status, JSON answer) of an API call to machine "a" or "b"."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{m['ports'][machine]}/api/v2/{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"xc-token": token or m["token"], "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def records(m) -> str:
    return f"tables/{m['table']}/records"


def test_a_record_written_on_one_machine_is_read_on_the_other(machines):
    m = machines
    status, made = call(m, "a", "POST", records(m), {"name": "from machine A"})
    assert status == 200, made
    status, got = call(m, "b", "GET", f"{records(m)}/{made['Id']}")
    assert status == 200 and got["name"] == "from machine A"


def test_a_new_field_made_on_one_machine_is_usable_on_the_other_at_once(machines):
    m = machines
    assert call(m, "b", "GET", records(m) + "?limit=1")[0] == 200  # B has the metadata
    status, field = call(
        m,
        "a",
        "POST",
        f"meta/tables/{m['table']}/columns",
        {"title": "machine note", "uidt": "SingleLineText"},
    )
    assert status in (200, 201), field
    # The very next request on B knows the field: it writes it and reads it back.
    status, made = call(
        m, "b", "POST", records(m), {"name": "x", "machine note": "seen by B"}
    )
    assert status == 200, made
    status, got = call(m, "b", "GET", f"{records(m)}/{made['Id']}")
    assert got["machine note"] == "seen by B"


def test_a_token_revoked_on_one_machine_is_refused_by_the_other(machines):
    m = machines
    victim = m["victim"]
    for _ in range(
        3
    ):  # B has the token's answer cached (PostgreSQL meta DB: auth cache)
        assert call(m, "b", "GET", records(m) + "?limit=1", token=victim)[0] == 200
    status, _ = call(m, "a", "DELETE", f"meta/tokens/{m['victim_id']}", token=victim)
    assert status == 200
    revoked_at = time.monotonic()
    # NOTIFY reaches B's listener within milliseconds of the commit; allow one second.
    while call(m, "b", "GET", records(m) + "?limit=1", token=victim)[0] != 401:
        assert time.monotonic() - revoked_at < 1.0, "machine B still accepts the token"
        time.sleep(0.01)


def test_writes_on_either_machine_reach_one_socket_and_one_webhook_call(machines):
    from websockets.sync.client import connect

    m = machines
    receiver = m["receiver"]
    status, hook = call(
        m,
        "a",
        "POST",
        f"meta/tables/{m['table']}/hooks",
        {"title": "machines", "url": receiver.url, "events": ["update"]},
    )
    assert status == 201, hook
    ws_port = m["ports"]["ws"]
    headers = {
        "Cookie": f"sessionid={m['session']}",
        "Origin": f"http://127.0.0.1:{ws_port}",
    }
    url = f"ws://127.0.0.1:{ws_port}/ws/tables/{m['table']}/?client=machines"
    with connect(url, additional_headers=headers, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        time.sleep(1.5)  # each web process's publisher has read who watches what
        for machine in ("a", "b"):
            status, _ = call(
                m, machine, "PATCH", records(m), {"Id": 1, "name": f"by {machine}"}
            )
            assert status == 200
        heard = []
        deadline = time.monotonic() + 15
        while len(heard) < 2 and time.monotonic() < deadline:
            msg = json.loads(ws.recv(timeout=15))
            if msg["type"] == "rows.updated":
                heard.append(msg)
        # One notice per write, whichever machine wrote (the page then reads the row).
        assert [m["ids"] for m in heard] == [["1"], ["1"]], heard
    receiver.wait_for(2, timeout=30)
    time.sleep(1)  # a duplicate delivery would arrive now
    names = [r.json["data"]["rows"][0]["name"] for r in receiver.requests]
    assert sorted(names) == ["by a", "by b"], names
