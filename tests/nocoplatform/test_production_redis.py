"""The production profile's processes on the machine's real Redis (issue 23): granian's WSGI
workers and the websocket server (uvicorn), with REDIS_URL set, as the Procfile starts them.

Every connection a server process opens names itself (`client_name` in its REDIS_URL), so the
test tells them apart from other users of the shared Redis: CLIENT LIST counts the open ones,
and MONITOR sees each new one (its CLIENT SETNAME) and every command the processes send.
- N writes open no new Redis connection: a constant number per process;
- writes to a table no socket watches send nothing about that table (and nothing per write);
- writes to a watched table reach a socket of the websocket server, still with no new connection.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from django.conf import settings

from tests.conftest import LIVE_ROOT, prepare_site, service_missing, stop_processes
from tests.views.test_realtime_redis import SETUP, _free_port

SETUP_TASKS = SETUP.replace(
    'table = Base.objects.get(title="Demo CRM").tables.get(title="projects")',
    'base = Base.objects.get(title="Demo CRM")\n'
    'table = base.tables.get(title="projects")\n'
    'tasks = base.tables.get(title="tasks")',
).replace('"session": s.session_key}', '"session": s.session_key, "tasks": tasks.pk}')

WORKERS = 2


class Monitor:
    """Redis MONITOR in a thread: the commands of the clients that named themselves `prefix…`."""

    def __init__(self, url: str, prefix: str):
        import redis

        self.prefix = prefix
        self.url = url
        # No read timeout: MONITOR is quiet for seconds when nothing happens.
        self.client = redis.Redis.from_url(url, socket_timeout=3600)
        self.monitor = self.client.monitor()
        self.monitor.__enter__()  # sends MONITOR, waits for its OK
        self.lines: list[tuple[float, str, str]] = []  # (time, client address, command)
        self.ours: dict[str, str] = {}  # address -> client name
        self.stopped = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for event in self.monitor.listen():
                addr = f"{event.get('client_address')}:{event.get('client_port')}"
                command = event.get("command", "")
                name = re.search(r"SETNAME (\S+)", command)
                if name and name.group(1).strip("'\"").startswith(self.prefix):
                    self.ours[addr] = name.group(1).strip("'\"")
                self.lines.append((time.monotonic(), addr, command))
        except Exception:
            if not self.stopped:
                raise

    def since(self, t0: float, name: str) -> list[str]:
        """Commands sent since `t0` by connections named `name`."""
        self._learn_names()
        return [
            c for t, a, c in list(self.lines) if t >= t0 and self.ours.get(a) == name
        ]

    def _learn_names(self) -> None:
        """Connections named before MONITOR started: their addresses from CLIENT LIST."""
        import redis

        r = redis.Redis.from_url(self.url)
        try:
            for c in r.client_list():
                if c.get("name", "").startswith(self.prefix):
                    self.ours[c["addr"]] = c["name"]
        finally:
            r.close()

    def new_connections(self, t0: float, name: str) -> int:
        return sum(1 for c in self.since(t0, name) if "SETNAME" in c)

    def close(self) -> None:
        self.stopped = True
        self.monitor.connection.disconnect()
        self.client.close()


def open_connections(url: str, name: str) -> set[str]:
    import redis

    r = redis.Redis.from_url(url)
    try:
        return {c["id"] for c in r.client_list() if c.get("name") == name}
    finally:
        r.close()


def with_name(url: str, name: str) -> str:
    return url + ("&" if "?" in url else "?") + f"client_name={name}"


@pytest.fixture
def production(tmp_path):
    import redis

    url = settings.TEST_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        service_missing("Redis", exc)
    tag = "noco-e2e-" + secrets.token_hex(4)
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.production",
        "NOCO_VAR_DIR": str(tmp_path),
        "SECURE_COOKIES": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "NOCO_ADMIN_EMAIL": "admin@example.com",
        "NOCO_ADMIN_PASSWORD": "redis-pass-12345",
        "NOCO_CHANNELS_PREFIX": tag,
        "REDIS_URL": with_name(url, tag + "-setup"),
    }
    info = prepare_site(base_env, SETUP_TASKS)
    py = sys.executable
    web_port, ws_port = _free_port(), _free_port()
    names = {"web": tag + "-web", "ws": tag + "-ws"}
    bin_dir = os.path.dirname(py)
    commands = {
        "web": [
            os.path.join(bin_dir, "granian"),
            "--interface",
            "wsgi",
            "nocoplatform.wsgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(web_port),
            "--workers",
            str(WORKERS),
            "--blocking-threads",
            "1",
            "--no-access-log",
        ],
        "ws": [
            py,
            "-m",
            "uvicorn",
            "nocoplatform.asgi:application",
            "--port",
            str(ws_port),
            "--no-proxy-headers",
        ],
    }
    procs = []
    for key, cmd in commands.items():
        env = {**base_env, "REDIS_URL": with_name(url, names[key])}
        procs.append(
            subprocess.Popen(
                cmd,
                cwd=LIVE_ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp_path / f"{key}.log", "w"),  # noqa: SIM115
            )
        )
    monitor = Monitor(url, tag)
    try:
        for port in (web_port, ws_port):  # 60 s: a busy machine starts them slowly
            for _ in range(300):
                try:
                    urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/login/", timeout=10
                    )
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                raise RuntimeError(f"server on {port} did not start")
        yield {
            **info,
            "web": web_port,
            "ws": ws_port,
            "names": names,
            "monitor": monitor,
            "url": url,
        }
    finally:
        monitor.close()
        stop_processes(procs)


def patch(p, table: int, record_id: int, field: str, value: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{p['web']}/api/v2/tables/{table}/records",
        data=json.dumps({"Id": record_id, field: value}).encode(),
        method="PATCH",
        headers={"xc-token": p["token"], "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


N = 150


def test_writes_keep_a_constant_number_of_redis_connections(production):
    """Issue 23: 1,138 PATCHes opened 1,141 Redis connections under granian."""
    from websockets.sync.client import connect

    p, mon = production, production["monitor"]
    web = p["names"]["web"]
    ws_url = f"ws://127.0.0.1:{p['ws']}/ws/tables/{p['table']}/?client=e2e"
    headers = {
        "Cookie": f"sessionid={p['session']}",
        "Origin": f"http://127.0.0.1:{p['ws']}",
    }
    with connect(ws_url, additional_headers=headers, open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        time.sleep(1.5)  # every worker's publisher has read who watches what
        # Warm up every worker (keep-alive off: requests spread over the workers).
        for i in range(20):
            patch(p, p["table"], 1 + i % 5, "name", f"warm {i}")
        time.sleep(0.5)
        before = open_connections(p["url"], web)
        assert 0 < len(before) <= 3 * WORKERS, before
        t0 = time.monotonic()
        for i in range(N):
            patch(p, p["table"], 1 + i % 5, "name", f"edit {i}")
        # The socket hears every one of them (all went through Redis).
        heard = 0
        deadline = time.monotonic() + 10
        while heard < N + 20 and time.monotonic() < deadline:
            msg = json.loads(ws.recv(timeout=5))
            if msg["type"] == "rows.updated":
                heard += 1
        assert heard >= N, f"the socket heard {heard} of {N + 20} updates"
        published = [c for c in mon.since(t0, web) if f"table.{p['table']}" in c]
        assert len(published) >= N, (mon.ours, mon.lines[-5:])
        assert mon.new_connections(t0, web) == 0, (
            f"{N} writes opened {mon.new_connections(t0, web)} Redis connections"
        )
        after = open_connections(p["url"], web)
        assert after == before, (before, after)


def test_no_redis_traffic_for_a_table_nobody_watches(production):
    """Issue 23: every write sent a group_send to Redis, watched or not."""
    p, mon = production, production["monitor"]
    web = p["names"]["web"]
    for i in range(10):  # warm up: workers loaded, publishers read the registry
        patch(p, p["tasks"], 1 + i % 5, "title", f"warm {i}")
    time.sleep(1.5)
    t0 = time.monotonic()
    for i in range(N):
        patch(p, p["tasks"], 1 + i % 5, "title", f"nobody sees {i}")
    elapsed = time.monotonic() - t0
    sent = mon.since(t0, web)
    group = f"table.{p['tasks']}"
    assert sent, "MONITOR saw nothing of the workers (not even their registry reads)"
    assert not [c for c in sent if group in c], "a publish for an unwatched table"
    # What remains is each worker's registry read, once a second.
    assert len(sent) <= WORKERS * (2 + 2 * elapsed), (len(sent), elapsed, sent[:20])
    assert mon.new_connections(t0, web) == 0
