"""NocoDB's own npm client (`nocodb-sdk`) works against our server unchanged."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI, LIVE_ROOT

SCRIPT = Path(__file__).with_name("sdk_check.cjs")


def test_nocodb_sdk_record_calls(live_server_url):
    node = shutil.which("node")
    sdk = LIVE_ROOT / "node_modules" / "nocodb-sdk"
    if not node or not sdk.exists():
        message = (
            "node and `npm ci` (nocodb-sdk) are needed for the SDK compatibility test"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    server = live_server_url
    token = server.manage("create_api_token", "admin@example.com", "--name", "sdk")
    ids = json.loads(
        server.manage(
            "shell",
            "-c",
            "import json; from bases.models import Table; "
            "p = Table.objects.get(title='projects'); t = Table.objects.get(title='tasks'); "
            "l = p.fields.get(uidt='LinkToAnotherRecord', related_table=t); "
            "print(json.dumps([p.pk, t.pk, l.pk]))",
        ).splitlines()[-1]
    )
    env = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "BASE_URL": server,
        "TOKEN": token,
        "PROJECTS": ids[0],
        "TASKS": ids[1],
        "LINK": ids[2],
        "NODE_PATH": str(LIVE_ROOT / "node_modules"),
    }
    done = subprocess.run(
        [node, str(SCRIPT)],
        cwd=LIVE_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)

    listed = out["list"]["list"]
    assert 0 < len(listed) <= 5
    assert all(
        set(r) == {"Id", "name", "status", "budget"} and r["status"] == "active"
        for r in listed
    )
    budgets = [r["budget"] for r in listed]
    assert budgets == sorted(budgets, reverse=True)
    assert out["list"]["pageInfo"]["pageSize"] == 5

    new_id = out["created"]["Id"]
    assert isinstance(new_id, int) and len(out["createdMany"]) == 2
    assert out["read"] == {"Id": new_id, "title": "From the SDK", "priority": 3}
    assert out["updated"] == {"Id": new_id}
    assert out["readAfter"] == {"priority": 5, "done": True}
    assert out["count"] == {"count": 3}
    assert out["linked"] is True and out["unlinked"] is True
    assert out["nested"]["list"] == [{"Id": new_id, "title": "From the SDK"}]
    assert out["nestedAfter"]["list"] == []
    assert len(out["deleted"]) == 3
    assert out["countAfter"] == {"count": 0}
    assert (
        out["badWhere"]["status"] == 400
        and out["badWhere"]["body"]["error"] == "FIELD_NOT_FOUND"
    )
