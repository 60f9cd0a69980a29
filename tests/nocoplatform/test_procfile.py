"""The Procfile that `make serve` runs under honcho: every production process starts (granian's
WSGI workers, the websocket server, a Celery worker, one beat), a crashed HTTP worker is
replaced while the others serve, and all stop on one SIGTERM."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings

from tests.conftest import LIVE_ROOT, service_missing
from tests.views.test_realtime_redis import _free_port


def _children(pid: int) -> list[int]:
    """The process ids whose parent is `pid` (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return sorted(out)


def log_text(tmp_path) -> str:
    return (tmp_path / "honcho.log").read_text()


def test_procfile_starts_the_production_processes_and_stops_them_gracefully(tmp_path):
    import redis

    try:
        redis.Redis.from_url(settings.TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        service_missing("Redis", exc)
    web, ws = _free_port(), _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.production",
        "NOCO_VAR_DIR": str(tmp_path),
        "REDIS_URL": settings.TEST_REDIS_URL,
        "NOCO_CHANNELS_PREFIX": "noco-procfile-" + secrets.token_hex(3),
        "NOCO_WEB_PORT": str(web),
        "NOCO_WS_PORT": str(ws),
        "NOCO_WEB_WORKERS": "2",
        "NOCO_CELERY_CONCURRENCY": "2",
        "SECURE_COOKIES": "false",
    }
    env.pop("DATABASE_URL", None)  # a SQLite meta DB in tmp_path is enough here
    bin_dir = os.path.dirname(sys.executable)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=LIVE_ROOT,
        env=env,
        check=True,
    )
    log = open(tmp_path / "honcho.log", "w+")  # noqa: SIM115
    honcho = subprocess.Popen(
        [os.path.join(bin_dir, "honcho"), "-f", "Procfile", "start"],
        cwd=LIVE_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for port in (web, ws):
            for _ in range(300):  # 60 s: the processes start on a busy machine
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/login/", timeout=10
                    ) as r:
                        assert r.status == 200
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                pytest.fail(f"port {port} never answered")
        deadline = time.monotonic() + 30
        text = ""
        while time.monotonic() < deadline:
            text = (tmp_path / "honcho.log").read_text()
            # Both HTTP workers loaded: the port answers as soon as one of them has, and a worker
            # killed while it still loads would never log its start (the count below would stall).
            if (
                "celery@" in text
                and "beat" in text
                and "Listening at" in text
                and text.count("Started worker") >= 2
            ):
                break
            time.sleep(0.5)
        for name in ("web.1", "ws.1", "worker.1", "beat.1"):
            assert f"{name} started" in text, text
        assert text.count("beat.1 started") == 1
        assert text.count("Started worker") == 2, text
        # An HTTP worker that crashes is replaced, and the others serve meanwhile.
        master = int(re.search(r"web\.1 started \(pid=(\d+)\)", text).group(1))
        workers = _children(master)
        assert len(workers) == 2, (workers, text)
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 20
        served = cut = 0
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{web}/login/", timeout=10
                ) as r:
                    served += r.status == 200
            except (OSError, http.client.HTTPException):
                cut += 1  # a connection the killed worker had accepted
            now = _children(master)
            # Replaced, and served (on a loaded machine the respawn can beat the first answer).
            if len(now) == 2 and workers[0] not in now and served:
                break
            time.sleep(0.3)
        else:
            pytest.fail(
                f"no worker replaced {workers[0]} ({_children(master)}), or none served ({served=}, {cut=})"
            )
        assert served >= 1 and cut <= 3, (served, cut)
        # Until the new worker has loaded the app (a worker stopped while it loads is not what
        # the graceful stop below is about).
        while (tmp_path / "honcho.log").read_text().count("Started worker") < 3:
            assert time.monotonic() < deadline + 60, (
                tmp_path / "honcho.log"
            ).read_text()
            time.sleep(0.2)
        t0 = time.monotonic()
        honcho.send_signal(signal.SIGTERM)
        honcho.wait(15)
        took = time.monotonic() - t0
    finally:
        if honcho.poll() is None:
            # honcho starts each process in a session of its own: a failed test kills their
            # groups too, or they outlive it (and weigh on every later test and benchmark).
            started = re.findall(r"started \(pid=(\d+)\)", log_text(tmp_path))
            for pid in [int(p) for p in started] + [honcho.pid]:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            honcho.wait(10)
        log.close()
    text = (tmp_path / "honcho.log").read_text()
    # honcho gives its children 5 s before it kills them: each stopped on SIGTERM by itself.
    assert took < 5, text
    assert "Granian shutdown completed" in text
    assert "Warm shutdown" in text
    assert "SIGKILL" not in text, text
