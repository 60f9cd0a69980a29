"""schemathesis fuzzes a base's generated OpenAPI document and the meta API: no server errors."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

ST = Path(sys.executable).with_name("schemathesis")


def _call(url: str, token: str, method: str = "GET", body=None):
    req = urllib.request.Request(
        url,
        method=method,
        headers={"xc-token": token, "Content-Type": "application/json"},
        data=json.dumps(body).encode() if body is not None else None,
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _fuzz(spec_url: str, token: str, examples: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(ST),
            "run",
            spec_url,
            "-H",
            f"xc-token: {token}",
            "-c",
            "not_a_server_error",
            "-n",
            str(examples),
            "--generation-deterministic",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_no_server_error_on_a_fuzzed_base(live_server_url):
    server = live_server_url
    token = server.manage("create_api_token", "admin@example.com", "--name", "fuzz")
    base = _call(f"{server}/api/v2/meta/bases/", token, "POST", {"title": "Fuzz"})
    owners = _call(
        f"{server}/api/v2/meta/bases/{base['id']}/tables",
        token,
        "POST",
        {
            "title": "owners",
            "columns": [
                {"title": "name", "uidt": "SingleLineText"},
                {"title": "email", "uidt": "Email"},
            ],
        },
    )
    things = _call(
        f"{server}/api/v2/meta/bases/{base['id']}/tables",
        token,
        "POST",
        {
            "title": "things",
            "columns": [
                {"title": "label", "uidt": "SingleLineText"},
                {"title": "count", "uidt": "Number"},
                {"title": "price", "uidt": "Currency"},
                {"title": "ok", "uidt": "Checkbox"},
                {"title": "day", "uidt": "Date"},
                {"title": "at", "uidt": "DateTime"},
                {"title": "kind", "uidt": "SingleSelect", "choices": ["a", "b"]},
                {"title": "tags", "uidt": "MultiSelect", "choices": ["x", "y"]},
                {"title": "data", "uidt": "JSON"},
                {"title": "site", "uidt": "URL"},
            ],
        },
    )
    _call(
        f"{server}/api/v2/meta/tables/{owners['id']}/columns",
        token,
        "POST",
        {
            "title": "things",
            "uidt": "LinkToAnotherRecord",
            "relation": "hm",
            "related_table_id": things["id"],
        },
    )
    _call(
        f"{server}/api/v2/tables/{things['id']}/records",
        token,
        "POST",
        [{"label": f"t{i}", "count": i} for i in range(5)],
    )
    # A token limited to this base: the fuzzer cannot touch the demo base other tests use.
    scoped = server.manage(
        "create_api_token",
        "admin@example.com",
        "--name",
        "fuzz-scoped",
        "--base",
        base["id"],
    )
    done = _fuzz(f"{server}/api/v2/meta/bases/{base['id']}/swagger.json", scoped, 15)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "passed" in done.stdout


def test_no_server_error_on_the_meta_api(live_server_url):
    server = live_server_url
    token = server.manage(
        "create_api_token", "admin@example.com", "--name", "fuzz-meta"
    )
    base = _call(f"{server}/api/v2/meta/bases/", token, "POST", {"title": "Fuzz meta"})
    _call(
        f"{server}/api/v2/meta/bases/{base['id']}/tables",
        token,
        "POST",
        {"title": "t", "columns": [{"title": "name", "uidt": "SingleLineText"}]},
    )
    # Scoped to its own base: stateful fuzzing follows ids from responses, and must not reach
    # the demo base the other live-server tests read.
    scoped = server.manage(
        "create_api_token",
        "admin@example.com",
        "--name",
        "fuzz-meta-scoped",
        "--base",
        base["id"],
    )
    done = _fuzz(f"{server}/api/v2/meta/openapi.json", scoped, 10)
    assert done.returncode == 0, done.stdout[-3000:]
