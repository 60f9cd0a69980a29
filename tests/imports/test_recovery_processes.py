"""A real web process SIGKILLed in the middle of an import into a new table (embedded
runner, PostgreSQL built-in store): the restarted server's sweep (imports/recovery.py)
removes the half-made table, queues the job again and it finishes — one table, every row."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
import uuid

from django.conf import settings

from tests.webhooks.stack import Stack

ROWS = 300_000


def _upload(s: Stack, path: str, name: str, data: bytes) -> dict:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{name}"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(
        s.url + path,
        data=body,
        method="POST",
        headers={
            "xc-token": s.token,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(req, timeout=60) as res:  # noqa: S310 - loopback
        return json.loads(res.read())


def _wait(s: Stack, path: str, until, timeout: float, log: str) -> dict:
    end = time.monotonic() + timeout
    job = {}
    while time.monotonic() < end:
        try:
            job = s.api("GET", path)
        except OSError:  # the server is busy starting
            time.sleep(0.2)
            continue
        if until(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"{job}\n" + s.read_log(log))


def test_killed_mid_import_the_restarted_server_recovers_it(tmp_path, pg_db):
    s = Stack(
        tmp_path / "var",
        NOCO_WEBHOOKS_RUNNER="embedded",
        NOCO_STORE_URL=settings.TEST_POSTGRES_URL,
        NOCO_JOB_STALE_SECONDS="3",
        NOCO_EXACT_COUNT_LIMIT=str(ROWS * 2),  # counted, not estimated
        LOG_LEVEL="WARNING",
    )
    s.var.mkdir()
    base_id = None
    try:
        s.setup()
        server = s.start_server()
        base_id = s.api("GET", "/api/v2/meta/bases/")["list"][0]["id"]
        data = "name,qty,note\n" + "".join(
            f"n{i},{i},note {i % 97}\n" for i in range(ROWS)
        )
        made = _upload(
            s, f"/api/v2/meta/bases/{base_id}/import", "big.csv", data.encode()
        )
        job_path = f"/api/v2/meta/bases/{base_id}/import/{made['id']}"
        s.api("POST", job_path + "/start", {})
        # Killed once the table exists and rows are being loaded (or, on a fast machine,
        # at least while it runs): the half-made table is what must not stay.
        running = _wait(
            s,
            job_path,
            lambda j: (
                j["status"] == "running" and j["tableId"] or j["status"] == "done"
            ),
            120,
            "server.log",
        )
        assert running["status"] == "running", "the import ended before the kill"
        half = running["tableId"]
        Stack.kill(server)
        s.start_server()
        done = _wait(
            s,
            job_path,
            lambda j: j["status"] in ("done", "failed", "cancelled"),
            180,
            "server.log",
        )
        assert done["status"] == "done", done["error"]
        assert done["done"] == ROWS and done["tableId"] != half
        tables = s.api("GET", f"/api/v2/meta/bases/{base_id}/tables")["list"]
        assert [t["id"] for t in tables if t["title"] == done["title"]] == [
            done["tableId"]
        ]
        assert half not in [t["id"] for t in tables]  # the half-made table is gone
        page = s.api("GET", f"/api/v2/tables/{done['tableId']}/records?limit=1")
        assert page["pageInfo"]["totalRows"] == ROWS
        with sqlite3.connect(s.var / "meta.sqlite3") as db:
            (recoveries,) = db.execute(
                "SELECT recoveries FROM imports_newtablejob WHERE id = ?",
                (made["id"].replace("-", ""),),
            ).fetchone()
        assert recoveries == 1
    finally:
        if base_id is not None and s.procs and s.procs[-1].poll() is None:
            try:
                s.api("DELETE", f"/api/v2/meta/bases/{base_id}")
            except OSError:
                pass
        s.stop_all()
