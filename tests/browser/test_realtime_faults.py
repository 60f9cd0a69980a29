"""A grid page in a real browser stays current through faults of the realtime path:

- Redis restarted empty under the server: the page's socket lives on, the server tells it to
  re-sync, and it shows a row edited while Redis was down, then live edits again;
- its websocket server killed and started again: the page reconnects by itself (backoff with
  jitter) and shows a row edited meanwhile through another server process.

Two uvicorn processes (the `make run` command) share a Redis this test starts itself
(tests/redis_process.py) and one SQLite meta DB in a temp folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.browser.conftest import shot
from tests.conftest import LIVE_ROOT, _free_port
from tests.redis_process import RedisProcess

pytestmark = [pytest.mark.browser, pytest.mark.faults]

PASSWORD = "faults-pass-12345"
SETUP = """
import json
from django.contrib.auth import get_user_model
from bases.models import Base
from permissions.services import api_token_create
admin = get_user_model().objects.get(email="admin@example.com")
table = Base.objects.get(title="Demo CRM").tables.get(title="projects")
_, token = api_token_create(user=admin, name="faults")
print(json.dumps({"base": table.base_id, "table": table.pk, "token": token}))
"""


class Servers:
    def __init__(self, folder, redis: RedisProcess):
        self.folder = folder
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
            "NOCO_VAR_DIR": str(folder),
            "NOCO_ADMIN_EMAIL": "admin@example.com",
            "NOCO_ADMIN_PASSWORD": PASSWORD,
            "REDIS_URL": redis.url,
            "NOCO_WEBHOOKS_RUNNER": "embedded",
        }
        self.procs: dict[int, subprocess.Popen] = {}

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=LIVE_ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def start(self, port: int) -> None:
        self.procs[port] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "nocoplatform.asgi:application",
                "--port",
                str(port),
            ],
            cwd=LIVE_ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / f"uvicorn-{port}.log", "a"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/login/", timeout=1
                ):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn on {port} did not start") from None
                time.sleep(0.1)

    def kill(self, port: int) -> None:
        proc = self.procs.pop(port)
        proc.kill()
        proc.wait(10)

    def stop_all(self) -> None:
        for port in list(self.procs):
            self.kill(port)


@pytest.fixture
def servers(tmp_path):
    redis = RedisProcess(tmp_path)
    redis.start()
    s = Servers(tmp_path, redis)
    s.redis = redis
    try:
        for cmd in (["migrate", "--noinput", "-v0"], ["ensure_admin"]):
            s.manage(*cmd)
        s.manage("create_demo_base")
        s.info = json.loads(s.manage("shell", "-c", SETUP).strip().splitlines()[-1])
        s.ports = (_free_port(), _free_port())
        for port in s.ports:
            s.start(port)
        yield s
    finally:
        s.stop_all()
        redis.kill()


def patch(port: int, info: dict, record_id: int, name: str) -> float:
    """Edit one record's name through the API of the server on `port`; seconds it took."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/tables/{info['table']}/records",
        data=json.dumps({"Id": record_id, "name": name}).encode(),
        method="PATCH",
        headers={"xc-token": info["token"], "Content-Type": "application/json"},
    )
    t0 = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    return time.monotonic() - t0


def open_grid(page, port: int, info: dict) -> str:
    url = f"http://127.0.0.1:{port}"
    page.goto(url + "/login/")
    page.fill("input[name=username]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    page.goto(f"{url}/bases/{info['base']}/tables/{info['table']}/")
    page.wait_for_selector("#grid tr.grid-row")
    page.wait_for_function(
        "window.grid && window.grid.store && document.documentElement.dataset.realtime === 'open'"
    )
    return page.evaluate("window.grid.columns.find(c => c.title === 'name').id")


# Counts the page's socket closing (realtime.js marks <html data-realtime=…>).
COUNT_CLOSES = """
window.closes = 0;
new MutationObserver(() => {
  if (document.documentElement.dataset.realtime === "closed") window.closes += 1;
}).observe(document.documentElement, { attributes: true, attributeFilter: ["data-realtime"] });
"""


def shows(page, fid: str, record_id: int, text: str, within: float) -> None:
    page.wait_for_function(
        "([s, t]) => { const el = document.querySelector(s); return el && el.innerText.includes(t); }",
        arg=[f'#grid tr.grid-row[data-id="{record_id}"] td[data-f="{fid}"]', text],
        timeout=within * 1000,
    )


def test_grid_catches_up_after_redis_restarts_empty(page, servers):
    port_a, port_b = servers.ports
    fid = open_grid(page, port_b, servers.info)
    page.evaluate(COUNT_CLOSES)
    # A write through the other process reaches the page (the layer works).
    patch(port_a, servers.info, 1, "Before the restart")
    shows(page, fid, 1, "Before the restart", 3)

    servers.redis.kill()
    took = patch(port_a, servers.info, 2, "While Redis was down")
    assert took < 1.0, f"a write waited {took:.1f} s on a dead Redis"
    servers.redis.start()
    # The page is told to re-sync and re-fetches its rows: the edit it missed shows.
    shows(page, fid, 2, "While Redis was down", 5)
    # Edits flow live again, over the same socket (no reconnect storm: it never closed).
    page.wait_for_timeout(2000)
    patch(port_a, servers.info, 3, "After the restart")
    shows(page, fid, 3, "After the restart", 2)
    assert page.evaluate("window.closes") == 0
    assert page.evaluate("document.documentElement.dataset.realtime") == "open"
    shot(page, "realtime-after-redis-restart")


def test_grid_reconnects_after_its_server_went_away(page, servers):
    port_a, port_b = servers.ports
    fid = open_grid(page, port_b, servers.info)
    servers.kill(port_b)
    page.wait_for_function("document.documentElement.dataset.realtime !== 'open'")
    patch(port_a, servers.info, 4, "While the server was away")
    servers.start(port_b)
    # Reconnects by itself (backoff 0.5 s doubling, jittered) and re-fetches its rows.
    shows(page, fid, 4, "While the server was away", 15)
    page.wait_for_function("document.documentElement.dataset.realtime === 'open'")
    page.evaluate(COUNT_CLOSES)
    patch(port_a, servers.info, 5, "Live again")
    shows(page, fid, 5, "Live again", 3)
    assert (
        page.evaluate("window.closes") == 0
    )  # heard over the socket, not on a reconnect
