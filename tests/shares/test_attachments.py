"""Attachment fields: upload limits, file names, content types and access checks."""

import json
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from bases import attachments, records, schema_services
from bases.demo import create_demo_base
from permissions.checks import SYSTEM
from permissions.services import field_rule_set, membership_create
from records.writes import update_rows
from tests.images import image_bytes

pytestmark = pytest.mark.django_db

# A real image: one whose bytes only start like a PNG gets no thumbnail (tests/bases/
# test_thumbnails.py) and shows as a file.
PNG = image_bytes()
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>'


@pytest.fixture
def base(user):
    return create_demo_base(user)


@pytest.fixture
def clients(base, actor):
    table = base.tables.get(title="clients")
    schema_services.field_create(
        actor=actor, table=table, data={"title": "files", "uidt": "Attachment"}
    )
    return table


@pytest.fixture
def files_field(clients):
    return clients.fields.get(title="files")


def panel_url(table, field, record_id=1):
    return (
        f"/bases/{table.base_id}/tables/{table.pk}/attachments/{record_id}/{field.pk}"
    )


def upload(web, table, field, *files, record_id=1):
    return web.post(panel_url(table, field, record_id), {"files": list(files)})


def cell(table, field, record_id=1):
    row = records.get_record(table, record_id, {"fields": field.pk}, actor=SYSTEM)
    return row.get(field.title) or []


def test_upload_stores_files_and_the_cell_lists_them(web, clients, files_field):
    response = upload(
        web,
        clients,
        files_field,
        SimpleUploadedFile("logo.png", PNG, content_type="image/png"),
        SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain"),
    )
    assert response.status_code == 200
    files = cell(clients, files_field)
    assert [f["name"] for f in files] == ["logo.png", "notes.txt"]
    assert [f["mime"] for f in files] == ["image/png", "text/plain"]
    root = Path(django_settings.MEDIA_ROOT)
    assert all((root / f["path"]).read_bytes() for f in files)
    html = response.content.decode()
    assert "att-thumb" in html and "logo.png" in html
    # The API reads the cell as a list.
    assert isinstance(records.get_record(clients, 1, actor=SYSTEM)["files"], list)


def test_safe_images_inline_everything_else_downloads(web, clients, files_field):
    upload(
        web,
        clients,
        files_field,
        SimpleUploadedFile("a.png", PNG, content_type="image/png"),
        SimpleUploadedFile("b.svg", SVG, content_type="image/svg+xml"),
        SimpleUploadedFile("c.html", HTML, content_type="text/html"),
    )
    png, svg, html = cell(clients, files_field)
    url = panel_url(clients, files_field)
    r = web.get(f"{url}/{png['id']}")
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    assert r["Content-Disposition"].startswith("inline")
    assert r["X-Content-Type-Options"] == "nosniff"
    for entry, mime in ((svg, "image/svg+xml"), (html, "text/html")):
        r = web.get(f"{url}/{entry['id']}")
        assert r.status_code == 200
        assert r["Content-Disposition"].startswith("attachment")
        assert r["Content-Type"].startswith(mime)
        assert r["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in r["Content-Security-Policy"]


def test_mime_spoofing_is_decided_by_the_bytes(web, clients, files_field, api):
    upload(
        web,
        clients,
        files_field,
        SimpleUploadedFile("photo.png", HTML, content_type="image/png"),
    )
    (entry,) = cell(clients, files_field)
    assert entry["mime"] == "text/html"
    # Rewriting the entry's type through the API changes nothing: the bytes decide again.
    update_rows(
        clients,
        [{"Id": 1, "files": [{**entry, "mime": "image/png"}]}],
        actor=SYSTEM,
    )
    r = web.get(f"{panel_url(clients, files_field)}/{entry['id']}")
    assert r["Content-Type"].startswith("text/html")
    assert r["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("/abs/path/x.txt", "x.txt"),
        ("..", "file"),
        ("evil\x00name\n.txt", "evilname.txt"),
        ('a<b>"c|d?.txt', "a_b__c_d_.txt"),
        (".hidden", "hidden"),
    ],
)
def test_file_names_are_cleaned(name, expected):
    assert attachments.clean_name(name) == expected


def test_path_traversal_in_an_upload_stays_in_its_folder(web, clients, files_field):
    upload(
        web,
        clients,
        files_field,
        SimpleUploadedFile(
            "../../../../tmp/pwned.txt", b"x", content_type="text/plain"
        ),
    )
    (entry,) = cell(clients, files_field)
    assert entry["name"] == "pwned.txt"
    root = Path(django_settings.MEDIA_ROOT).resolve()
    stored = (root / entry["path"]).resolve()
    assert stored.is_relative_to(root / "attachments" / clients.pk / files_field.pk)


def test_limits_per_file_and_per_cell(web, clients, files_field, settings):
    settings.NOCO_ATTACHMENT_MAX_SIZE = 100
    big = SimpleUploadedFile("big.bin", b"x" * 101)
    r = upload(web, clients, files_field, big)
    assert r.status_code == 400 and "larger than" in r.content.decode()
    assert cell(clients, files_field) == []
    settings.NOCO_ATTACHMENT_MAX_FILES = 2
    r = upload(
        web,
        clients,
        files_field,
        *[SimpleUploadedFile(f"{i}.txt", b"x") for i in range(3)],
    )
    assert r.status_code == 400 and "at most 2 files" in r.content.decode()
    assert cell(clients, files_field) == []
    settings.NOCO_ATTACHMENT_MAX_CELL_SIZE = 150
    r = upload(
        web,
        clients,
        files_field,
        SimpleUploadedFile("1.txt", b"x" * 80),
        SimpleUploadedFile("2.txt", b"x" * 80),
    )
    assert r.status_code == 400 and cell(clients, files_field) == []
    root = Path(django_settings.MEDIA_ROOT) / "attachments" / clients.pk
    assert not root.exists() or not any(p.is_file() for p in root.rglob("*"))


def test_access_checks(web, client, clients, files_field, other_user, base, actor):
    upload(web, clients, files_field, SimpleUploadedFile("a.txt", b"secret"))
    (entry,) = cell(clients, files_field)
    url = f"{panel_url(clients, files_field)}/{entry['id']}"
    client.force_login(other_user)
    assert client.get(url).status_code == 404  # not a member
    membership_create(base=base, user=other_user, role="viewer")
    assert client.get(url).status_code == 200  # a viewer may read it
    assert (
        client.post(
            panel_url(clients, files_field),
            {"files": [SimpleUploadedFile("b.txt", b"x")]},
        ).status_code
        == 403
    )
    assert client.post(f"{url}/delete").status_code == 403
    field_rule_set(actor=actor, field=files_field, hidden_below="editor")
    assert client.get(url).status_code == 404  # the field is hidden from viewers
    # Another row, an unknown id, another field: 404.
    assert (
        web.get(f"{panel_url(clients, files_field, 2)}/{entry['id']}").status_code
        == 404
    )
    assert web.get(f"{panel_url(clients, files_field)}/nope12345678").status_code == 404
    name = clients.fields.get(title="name")
    assert web.get(f"{panel_url(clients, name)}/{entry['id']}").status_code == 404


def test_a_crafted_entry_cannot_reach_other_files(web, clients, files_field, actor):
    other = schema_services.field_create(
        actor=actor, table=clients, data={"title": "private", "uidt": "Attachment"}
    )
    upload(web, clients, other, SimpleUploadedFile("p.txt", b"private"), record_id=2)
    (target,) = cell(clients, other, 2)
    forged = {**target, "id": "forgedid1234"}
    update_rows(clients, [{"Id": 1, "files": [forged, target]}], actor=SYSTEM)
    url = panel_url(clients, files_field)
    assert web.get(f"{url}/forgedid1234").status_code == 404
    assert web.get(f"{url}/{target['id']}").status_code == 404


def test_remove_deletes_the_file(web, clients, files_field):
    upload(web, clients, files_field, SimpleUploadedFile("a.txt", b"bye"))
    (entry,) = cell(clients, files_field)
    path = Path(django_settings.MEDIA_ROOT) / entry["path"]
    assert path.exists()
    r = web.post(f"{panel_url(clients, files_field)}/{entry['id']}/delete")
    assert r.status_code == 200
    assert cell(clients, files_field) == [] and not path.exists()


def test_api_writes_are_shape_checked(api, clients):
    url = f"/api/v2/tables/{clients.pk}/records"
    r = api.patch(url, [{"Id": 1, "files": "not json"}], format="json")
    assert r.status_code == 400
    r = api.patch(url, [{"Id": 1, "files": [{"name": "x"}]}], format="json")
    assert r.status_code == 400
    r = api.patch(url, [{"Id": 1, "files": json.dumps([])}], format="json")
    assert r.status_code == 200


@pytest.mark.parametrize("kind", ["pg_db", "mysql_db"])
def test_external_databases_added_or_picked_column(
    request, kind, actor, web, make_table
):

    db = request.getfixturevalue(kind)
    table = make_table(
        db,
        "docs",
        "title VARCHAR(50)",
        "files_json TEXT",
        rows=[{"id": 1, "title": "one", "files_json": None}],
        pk_type={"pg": "INTEGER PRIMARY KEY", "mysql": "INTEGER PRIMARY KEY"},
        title="Ext",
        actor=actor,
        allow_schema_edit=True,
    )
    # A column the platform adds...
    added = schema_services.field_create(
        actor=actor, table=table, data={"title": "files", "uidt": "Attachment"}
    )
    # ...or one the admin picks (an empty text column, retyped without DDL).
    picked = table.fields.get(column_name="files_json")
    picked = schema_services.field_update(
        actor=actor, field=picked, data={"uidt": "Attachment"}
    )
    assert picked.uidt == "Attachment"
    for field in (added, picked):
        r = upload(web, table, field, SimpleUploadedFile("a.txt", b"hello"))
        assert r.status_code == 200, r.content[:300]
        (entry,) = cell(table, field)
        assert entry["name"] == "a.txt" and entry["mime"] == "text/plain"
        got = web.get(f"{panel_url(table, field)}/{entry['id']}")
        assert b"".join(got.streaming_content) == b"hello"


@pytest.mark.parametrize(
    "mime, allowed, ok",
    [
        ("text/html", [], True),
        ("image/svg+xml", ["image/png", "image/jpeg"], False),
        ("image/svg+xml", ["image/*"], True),
        ("application/pdf", ["image/*", "application/pdf"], True),
        ("application/zip", ["image/*", "application/pdf"], False),
        ("text/plain", ["*/*"], True),
    ],
)
def test_accepted_types(mime, allowed, ok):
    assert attachments.type_allowed(mime, allowed) is ok


def test_the_files_panel_refuses_a_type_not_accepted(
    web, clients, files_field, settings
):
    settings.NOCO_ATTACHMENT_ALLOWED_TYPES = ["image/*"]
    r = upload(web, clients, files_field, SimpleUploadedFile("a.txt", b"text"))
    assert r.status_code == 400 and "not accepted here" in r.content.decode()
    assert cell(clients, files_field) == []
