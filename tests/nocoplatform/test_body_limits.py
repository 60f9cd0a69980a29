"""Request bodies over their endpoint's limit are refused (413) before they are read, and API
writes without valid credentials get their 401 before their body is read — through Django's
test client, and through real servers: uvicorn (ASGI, `make run`) and granian (WSGI,
production), where a client sends the headers and a few bytes of a huge body."""

import os
import socket
import subprocess
import sys
import time

import orjson
import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile

from bases.demo import create_demo_base
from tests.conftest import LIVE_ROOT, _free_port

GIB = 1024**3


# --- in process (the middleware) ----------------------------------------------------------


@pytest.mark.django_db
def test_an_api_body_over_the_limit_is_413_unread(api, settings):
    # The test client's payload raises if more than its 13 bytes are read: the declared
    # 1 GiB is refused from the header alone.
    response = api.generic(
        "POST",
        "/api/v2/meta/bases/",
        b'{"title":"x"}',
        content_type="application/json",
        CONTENT_LENGTH=str(GIB),
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": "PAYLOAD_TOO_LARGE",
        "message": "The request body is larger than the 10,485,760 bytes this "
        "endpoint accepts.",
        "details": {"max_bytes": settings.NOCO_MAX_BODY_SIZE},
    }
    settings.NOCO_MAX_BODY_SIZE = 100
    body = orjson.dumps({"title": "y" * 100})
    response = api.post("/api/v2/meta/bases/", body, content_type="application/json")
    assert response.status_code == 413 and response.json()["details"] == {
        "max_bytes": 100
    }


@pytest.mark.django_db
def test_the_middleware_refuses_in_async_mode_too(async_client, settings):
    """Under ASGI the middleware chain runs async (the guard before it answers first there,
    with the same limit)."""
    settings.NOCO_MAX_BODY_SIZE = 5
    response = async_to_sync(async_client.post)(
        "/api/v2/meta/bases/", b'{"title":"x"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["error"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.django_db
def test_a_page_body_over_the_limit_is_a_short_page(web):
    response = web.generic(
        "POST",
        "/bases/new/",
        b"title=x",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(GIB),
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert b"Request too large" in response.content


@pytest.mark.django_db
def test_upload_endpoints_take_a_cell_of_files(web, user, settings):
    """Files go to attachment cells: up to NOCO_ATTACHMENT_MAX_CELL_SIZE + 1 MiB there, while
    every other endpoint keeps to NOCO_MAX_BODY_SIZE."""
    settings.NOCO_MAX_BODY_SIZE = 20_000
    clients = create_demo_base(user).tables.get(title="clients")
    field = clients.fields.get(title="name")
    from bases.schema_services import field_create
    from permissions.checks import Actor

    files = field_create(
        actor=Actor(user=user),
        table=clients,
        data={"title": "files", "uidt": "Attachment"},
    )
    path = f"/bases/{clients.base_id}/tables/{clients.pk}/attachments/1/{files.pk}"
    upload = SimpleUploadedFile("big.txt", b"a" * 100_000, content_type="text/plain")
    response = web.post(path, {"files": upload})
    assert response.status_code == 200, response.content
    assert "big.txt" in response.content.decode()
    # The grid's cell endpoint takes files too; its JSON answer when over the upload limit.
    cell = f"/bases/{clients.base_id}/tables/{clients.pk}/cells/1/{files.pk}"
    over = settings.NOCO_ATTACHMENT_MAX_CELL_SIZE + 1024 * 1024 + 1
    response = web.generic(
        "POST",
        cell,
        b"--x--",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(over),
        HTTP_X_GRID_EDITOR="1",
    )
    assert response.status_code == 413
    assert response.json()["error"] == "PAYLOAD_TOO_LARGE"
    # Not an upload endpoint: the general limit.
    paste = web.post(
        f"/bases/{clients.base_id}/tables/{clients.pk}/grid/cells",
        orjson.dumps(
            {"changes": [{"id": 1, "field": field.pk, "value": "x" * 30_000}]}
        ),
        content_type="application/json",
        HTTP_X_GRID_EDITOR="1",
    )
    assert paste.status_code == 413 and paste.json()["error"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.django_db
def test_anonymous_api_write_is_401_without_reading_the_body(client):
    response = client.generic(
        "POST",
        "/api/v2/meta/bases/",
        b"{",
        content_type="application/json",
        CONTENT_LENGTH=str(5 * 1024 * 1024),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "AUTHENTICATION_REQUIRED"


# --- real servers -------------------------------------------------------------------------

SERVER_LIMIT = 1024 * 1024  # NOCO_MAX_BODY_SIZE of the servers below


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """uvicorn (ASGI) and granian (WSGI) on one var dir, with the demo base and a token."""
    var = tmp_path_factory.mktemp("limits-var")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
        "NOCO_VAR_DIR": str(var),
        "NOCO_ADMIN_EMAIL": "admin@example.com",
        "NOCO_ADMIN_PASSWORD": "limits-pass-123",
        "NOCO_MAX_BODY_SIZE": str(SERVER_LIMIT),
    }
    py, bin_dir = sys.executable, os.path.dirname(sys.executable)

    def manage(*args):
        return subprocess.run(
            [py, "manage.py", *args],
            cwd=LIVE_ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    manage("migrate", "--noinput", "-v0")
    manage("ensure_admin")
    manage("create_demo_base")
    token = manage("create_api_token", "admin@example.com").splitlines()[-1]
    table_id = manage(
        "shell",
        "-c",
        "from bases.models import Table; print(Table.objects.get(title='clients').pk)",
    ).splitlines()[-1]
    ports = {"asgi": _free_port(), "wsgi": _free_port()}
    commands = {
        "asgi": [py, "-m", "uvicorn", "nocoplatform.asgi:application"]
        + ["--port", str(ports["asgi"])],
        "wsgi": [os.path.join(bin_dir, "granian"), "--interface", "wsgi"]
        + ["--port", str(ports["wsgi"]), "--blocking-threads", "2"]
        + ["nocoplatform.wsgi:application"],
    }
    procs = [
        subprocess.Popen(
            command,
            cwd=LIVE_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for command in commands.values()
    ]
    for port in ports.values():
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
    yield {"ports": ports, "token": token, "table": table_id}
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def exchange(port, method, path, headers: dict, body: bytes = b"", wait=3.0):
    """Send a request's head and `body` (maybe only the start of what the head declares);
    (status, headers, body) of the answer, or None when none came within `wait` seconds."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=wait)
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    try:
        sock.sendall(head.encode() + body)
        data, deadline = b"", time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return None
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                top, _, rest = data.partition(b"\r\n\r\n")
                fields = dict(
                    line.split(": ", 1)
                    for line in top.decode("latin-1").split("\r\n")[1:]
                )
                fields = {k.lower(): v for k, v in fields.items()}
                status = int(top.split()[1])
                if fields.get("transfer-encoding") == "chunked":
                    if rest.endswith(b"0\r\n\r\n"):
                        return status, fields, _unchunk(rest)
                elif len(rest) >= int(fields.get("content-length", "0")):
                    return status, fields, rest
        return None
    finally:
        sock.close()


def _unchunk(data: bytes) -> bytes:
    out = b""
    while True:
        size, _, data = data.partition(b"\r\n")
        if int(size, 16) == 0:
            return out
        out, data = out + data[: int(size, 16)], data[int(size, 16) + 2 :]


@pytest.fixture(params=["asgi", "wsgi"])
def server(request, servers):
    return {**servers, "port": servers["ports"][request.param], "kind": request.param}


def records_path(server) -> str:
    return f"/api/v2/tables/{server['table']}/records"


def test_a_declared_gigabyte_is_refused_before_it_is_read(server):
    answer = exchange(
        server["port"],
        "POST",
        records_path(server),
        {
            "xc-token": server["token"],
            "Content-Type": "application/json",
            "Content-Length": str(GIB),
        },
        b'[{"name": "a"}',
    )
    assert answer is not None, "the server waited for the body"
    status, _, body = answer
    assert status == 413 and orjson.loads(body)["error"] == "PAYLOAD_TOO_LARGE"
    page = exchange(
        server["port"],
        "POST",
        "/login/",
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(GIB),
        },
        b"username=a",
    )
    assert page is not None and page[0] == 413
    assert page[1]["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "credentials,code",
    [
        ({}, "AUTHENTICATION_REQUIRED"),
        ({"xc-token": "not-a-token"}, "INVALID_TOKEN"),
        ({"Authorization": "Bearer not-a-token"}, "INVALID_TOKEN"),
        ({"Cookie": "sessionid=not-a-session"}, "AUTHENTICATION_REQUIRED"),
    ],
    ids=["anonymous", "bad-token", "bad-bearer", "bad-session"],
)
def test_api_writes_without_valid_credentials_are_401_before_the_body(
    server, credentials, code
):
    """Within the body limit, but not read: a stranger cannot make the server take it in."""
    answer = exchange(
        server["port"],
        "POST",
        records_path(server),
        {
            **credentials,
            "Content-Type": "application/json",
            "Content-Length": str(SERVER_LIMIT - 1),
        },
        b'[{"name": ',
    )
    assert answer is not None, "the server waited for the body"
    status, headers, body = answer
    assert status == 401 and orjson.loads(body)["error"] == code
    assert headers["www-authenticate"] == 'Bearer realm="api"'


def test_valid_writes_pass_whole(server):
    """A body within the limit, small or large (over 64 KiB the ASGI guard checks the token
    before reading it), goes through as before."""
    token = server["token"]
    rows = orjson.dumps([{"name": f"{i} " + "x" * 200} for i in range(1000)])
    assert 64 * 1024 < len(rows) < SERVER_LIMIT
    for body in (orjson.dumps({"name": "small"}), rows):
        status, _, answer = exchange(
            server["port"],
            "POST",
            records_path(server),
            {
                "xc-token": token,
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
            },
            body,
            wait=30,
        )
        assert status == 200, answer


def test_a_chunked_body_is_cut_off_at_the_limit(servers):
    """ASGI: no Content-Length to check, so the bytes are counted as they come. (Under WSGI
    Django reads no body without a Content-Length.)"""
    chunk = b"x" * 65536
    stream = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * (
        SERVER_LIMIT // len(chunk) + 2
    )
    answer = exchange(
        servers["ports"]["asgi"],
        "POST",
        f"/api/v2/tables/{servers['table']}/records",
        {
            "xc-token": servers["token"],
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        stream,  # and never the last chunk: the server must not wait for it
    )
    assert answer is not None, "the server waited for the end of the body"
    status, _, body = answer
    assert status == 413 and orjson.loads(body)["error"] == "PAYLOAD_TOO_LARGE"
