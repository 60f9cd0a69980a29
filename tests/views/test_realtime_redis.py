"""Two real web processes (uvicorn, the `make run` profile) sharing the channel layer on Redis:
a write through process A reaches a websocket client of process B.

The processes share one SQLite meta DB (a temp folder) and the demo base; the layer gets a prefix
of its own so runs never hear each other.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings

from tests.conftest import LIVE_ROOT, prepare_site, service_missing, stop_processes

SETUP = """
import json
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from bases.models import Base
from permissions.services import api_token_create
admin = get_user_model().objects.get(email="admin@example.com")
table = Base.objects.get(title="Demo CRM").tables.get(title="projects")
_, token = api_token_create(user=admin, name="redis test")
s = SessionStore()
s["_auth_user_id"] = str(admin.pk)
s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
s["_auth_user_hash"] = admin.get_session_auth_hash()
s.create()
print(json.dumps({"table": table.pk, "token": token, "session": s.session_key}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int) -> None:
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


@contextlib.contextmanager
def _two_processes(tmp_path, **extra_env):
    """Two uvicorn processes on one meta DB and one Redis: (site info, ports, processes)."""
    import redis

    url = settings.TEST_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        service_missing("Redis", exc)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
        "NOCO_VAR_DIR": str(tmp_path),
        "NOCO_ADMIN_EMAIL": "admin@example.com",
        "NOCO_ADMIN_PASSWORD": "redis-pass-12345",
        "REDIS_URL": url,
        "NOCO_CHANNELS_PREFIX": "noco-test-" + secrets.token_hex(4),
        "NOCO_WEBHOOKS_RUNNER": "embedded",
        **extra_env,
    }
    info = prepare_site(env, SETUP)
    py = sys.executable
    procs, ports = [], []
    for _ in range(2):
        port = _free_port()
        procs.append(
            subprocess.Popen(
                [
                    py,
                    "-m",
                    "uvicorn",
                    "nocoplatform.asgi:application",
                    "--port",
                    str(port),
                ],
                cwd=LIVE_ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp_path / f"uvicorn-{port}.log", "w"),  # noqa: SIM115
            )
        )
        ports.append(port)
    try:
        for port in ports:
            _wait_port(port)
        yield info, ports, procs
    finally:
        stop_processes(procs)


def _open_socket(info, port, client):
    """A socket on the table as the prepared user, past its `hello`."""
    from websockets.sync.client import connect

    ws = connect(
        f"ws://127.0.0.1:{port}/ws/tables/{info['table']}/?client={client}",
        additional_headers={
            "Cookie": f"sessionid={info['session']}",
            "Origin": f"http://127.0.0.1:{port}",
        },
        open_timeout=5,
    )
    assert json.loads(ws.recv(timeout=5))["type"] == "hello"
    return ws


@pytest.fixture
def two_processes(tmp_path):
    with _two_processes(tmp_path) as (info, ports, _):
        yield info, ports


def test_edit_through_process_a_reaches_a_socket_on_process_b(two_processes):
    from websockets.sync.client import connect

    info, (port_a, port_b) = two_processes
    ws_url = f"ws://127.0.0.1:{port_b}/ws/tables/{info['table']}/?client=b1"
    headers = {
        "Cookie": f"sessionid={info['session']}",
        "Origin": f"http://127.0.0.1:{port_b}",
    }
    with connect(ws_url, additional_headers=headers, open_timeout=5) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello["type"] == "hello"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port_a}/api/v2/tables/{info['table']}/records",
            data=json.dumps({"Id": 7, "name": "via process A"}).encode(),
            method="PATCH",
            headers={"xc-token": info["token"], "Content-Type": "application/json"},
        )
        t0 = time.monotonic()
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        while True:
            msg = json.loads(ws.recv(timeout=5))
            if msg["type"].startswith("rows."):
                break
        assert msg["type"] == "rows.updated" and msg["ids"] == ["7"]
        assert time.monotonic() - t0 < 5
        # An idle socket survives the layer's blocking reads (5 s each) and still hears.
        time.sleep(7)
        request.data = json.dumps({"Id": 8, "name": "later"}).encode()
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        while True:
            msg = json.loads(ws.recv(timeout=5))
            if msg["type"].startswith("rows."):
                break
        assert msg["ids"] == ["8"]
        # The row itself is re-read from process B, as the page would.
        with urllib.request.urlopen(
            urllib.request.Request(
                f"http://127.0.0.1:{port_b}/api/v2/tables/{info['table']}/records/7",
                headers={"xc-token": info["token"]},
            ),
            timeout=10,
        ) as response:
            assert json.loads(response.read())["name"] == "via process A"


def test_presence_across_processes(two_processes):
    """A process new on a table learns who is on the others (one roster message from each),
    and every process follows every join and leave: a newcomer gets them in one `here`."""
    info, (port_a, port_b) = two_processes

    def presence(ws, action):
        while True:
            msg = json.loads(ws.recv(timeout=5))
            if msg["type"] == "presence" and msg["action"] == action:
                return msg

    b1 = _open_socket(info, port_b, "b1")
    a1 = _open_socket(info, port_a, "a1")  # process A was on no socket of this table
    assert presence(a1, "join")["who"]["client"] == "b1"  # from B's roster
    assert presence(b1, "join")["who"]["client"] == "a1"
    a2 = _open_socket(info, port_a, "a2")
    here = presence(a2, "here")
    assert sorted(p["who"]["client"] for p in here["people"]) == ["a1", "b1"]
    assert here["count"] == 3
    b1.close()
    assert presence(a1, "leave")["who"]["client"] == "b1"
    assert presence(a2, "leave")["who"]["client"] == "b1"
    a1.close()
    a2.close()


EXPIRE = 3  # NOCO_PRESENCE_EXPIRE of the processes below: a beat every second


def test_presence_of_a_killed_process_expires(tmp_path):
    """A process killed with people on a table (SIGKILL: no leave is ever sent) stops
    beating; the other process drops its people within NOCO_PRESENCE_EXPIRE and tells its
    sockets. A live process's people stay however long (its beats)."""
    with _two_processes(tmp_path, NOCO_PRESENCE_EXPIRE=str(EXPIRE)) as (
        info,
        (port_a, port_b),
        (proc_a, _),
    ):

        def presence_messages(ws, seconds):
            """Every presence message within `seconds`."""
            out, end = [], time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                try:
                    msg = json.loads(ws.recv(timeout=left))
                except TimeoutError:
                    break
                if msg["type"] == "presence":
                    out.append((time.monotonic(), msg))
            return out

        b1 = _open_socket(info, port_b, "b1")
        a1 = _open_socket(info, port_a, "a1")
        joins = presence_messages(b1, 2)
        assert [m["who"]["client"] for _, m in joins if m["action"] == "join"] == ["a1"]
        # Alive: three expiry periods and a1 is still there.
        quiet = presence_messages(b1, 3 * EXPIRE)
        assert [m for _, m in quiet if m["action"] == "leave"] == []
        proc_a.kill()  # SIGKILL: a1's socket never says goodbye
        proc_a.wait(10)
        killed = time.monotonic()
        after = presence_messages(b1, EXPIRE + 4)
        leaves = [(t, m) for t, m in after if m["action"] == "leave"]
        assert [m["who"]["client"] for _, m in leaves] == ["a1"]
        # Within the expiry and a sweep (the keeper ticks every second) of the last beat.
        assert leaves[0][0] - killed <= EXPIRE + 2
        counts = [m["count"] for _, m in after if m["action"] == "count"]
        assert counts[-1:] == [1]
        b1.close()
        try:
            a1.close()
        except Exception:  # noqa: S110 - its process is gone
            pass
