"""Files dropped on a grid cell: POST `files` to the cell endpoint (views/grid/edit.cell →
views/attachment_pages.grid_cell_upload), the same service and checks as the files panel."""

import json
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from bases import records, schema_services
from bases.demo import create_demo_base
from permissions.checks import SYSTEM
from permissions.services import field_rule_set, membership_create, table_role_set
from tests.images import image_bytes

pytestmark = pytest.mark.django_db

GRID = {"HTTP_X_GRID_EDITOR": "1"}


@pytest.fixture
def clients(user, actor):
    table = create_demo_base(user).tables.get(title="clients")
    schema_services.field_create(
        actor=actor, table=table, data={"title": "files", "uidt": "Attachment"}
    )
    return table


@pytest.fixture
def files_field(clients):
    return clients.fields.get(title="files")


def cell_url(table, field, record_id=1):
    return f"/bases/{table.base_id}/tables/{table.pk}/cells/{record_id}/{field.pk}"


def drop(client, table, field, *files, record_id=1):
    return client.post(
        cell_url(table, field, record_id), {"files": list(files)}, **GRID
    )


def cell(table, field, record_id=1):
    row = records.get_record(table, record_id, {"fields": field.pk}, actor=SYSTEM)
    return row.get(field.title) or []


def stored_files(table) -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT) / "attachments" / table.pk
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_drop_uploads_into_the_cell_and_answers_its_td(web, clients, files_field):
    response = drop(
        web,
        clients,
        files_field,
        SimpleUploadedFile("photo.png", image_bytes(600, 300), "image/png"),
        SimpleUploadedFile("notes.txt", b"hello", "text/plain"),
    )
    assert response.status_code == 200, response.content
    td = response.content.decode()
    assert td.startswith('<td class="cell t-Attachment"') and " ro" not in td
    (photo, notes) = cell(clients, files_field)
    assert photo["thumb"] is True and "thumb" not in notes
    # The image shows as its thumbnail, through the access-checked file view; the text
    # file as a chip with its name.
    src = (
        f"/bases/{clients.base_id}/tables/{clients.pk}/attachments/1/"
        f"{files_field.pk}/{photo['id']}?thumb=1"
    )
    assert f'src="{src}"' in td
    assert '<span class="chip"' in td and "notes.txt" in td
    thumb = web.get(src)
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
    # A second drop adds to the cell.
    drop(web, clients, files_field, SimpleUploadedFile("more.txt", b"x"))
    assert [f["name"] for f in cell(clients, files_field)] == [
        "photo.png",
        "notes.txt",
        "more.txt",
    ]


def test_the_grid_page_shows_thumbnails_and_marks_droppable_columns(
    web, clients, files_field
):
    drop(web, clients, files_field, SimpleUploadedFile("a.png", image_bytes()))
    page = web.get(f"/bases/{clients.base_id}/tables/{clients.pk}/").content.decode()
    config = json.loads(
        page.split('id="grid-config" type="application/json">')[1].split("</script>")[0]
    )
    (column,) = [c for c in config["columns"] if c["id"] == files_field.pk]
    # Never typed into, pasted or cleared as text; files may be dropped.
    assert column["edit"] is False and column["files"] is True
    assert config["fileMaxSize"] == django_settings.NOCO_ATTACHMENT_MAX_SIZE
    assert 'class="att-mini"' in page and "?thumb=1" in page


def test_too_big_too_many_and_empty_drops_are_refused_with_the_reason(
    web, clients, files_field, settings
):
    settings.NOCO_ATTACHMENT_MAX_SIZE = 100
    r = drop(web, clients, files_field, SimpleUploadedFile("big.bin", b"x" * 101))
    assert r.status_code == 400
    assert r.json() == {
        "error": "FILE_TOO_LARGE",
        "message": "'big.bin' is larger than 0 KiB.",
    }
    settings.NOCO_ATTACHMENT_MAX_FILES = 2
    r = drop(
        web,
        clients,
        files_field,
        *[SimpleUploadedFile(f"{i}.txt", b"x") for i in range(3)],
    )
    assert r.status_code == 400 and r.json()["error"] == "TOO_MANY_FILES"
    assert "at most 2 files" in r.json()["message"]
    r = web.post(cell_url(clients, files_field), {}, **GRID)
    assert r.status_code == 400 and r.json()["error"] == "NO_FILE"
    # Nothing was stored, and the cell is as it was.
    assert cell(clients, files_field) == [] and stored_files(clients) == []


def test_a_type_not_accepted_is_refused_by_its_bytes(
    web, clients, files_field, settings
):
    settings.NOCO_ATTACHMENT_ALLOWED_TYPES = ["image/*", "application/pdf"]
    # Named and announced as an image, but the bytes are HTML: refused, and nothing of the
    # drop is stored (the image beside it neither).
    r = drop(
        web,
        clients,
        files_field,
        SimpleUploadedFile("ok.png", image_bytes(), "image/png"),
        SimpleUploadedFile("photo.png", b"<!doctype html><p>hi", "image/png"),
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": "FILE_TYPE_NOT_ALLOWED",
        "message": "'photo.png' is a file of type text/html, which is not accepted here"
        " (accepted: image/*, application/pdf).",
    }
    assert cell(clients, files_field) == [] and stored_files(clients) == []
    r = drop(
        web,
        clients,
        files_field,
        SimpleUploadedFile("ok.png", image_bytes()),
        SimpleUploadedFile("doc.pdf", b"%PDF-1.7 x"),
    )
    assert r.status_code == 200
    assert [f["mime"] for f in cell(clients, files_field)] == [
        "image/png",
        "application/pdf",
    ]


@pytest.mark.parametrize("role", ["viewer", "commenter"])
def test_readers_cannot_drop(client, other_user, clients, files_field, role):
    membership_create(base=clients.base, user=other_user, role=role)
    client.force_login(other_user)
    page = client.get(f"/bases/{clients.base_id}/tables/{clients.pk}/").content
    config = json.loads(
        page.decode()
        .split('id="grid-config" type="application/json">')[1]
        .split("</script>")[0]
    )
    (column,) = [c for c in config["columns"] if c["id"] == files_field.pk]
    assert column["files"] is False
    r = drop(client, clients, files_field, SimpleUploadedFile("a.txt", b"x"))
    assert r.status_code == 403
    assert r.json() == {
        "error": "FIELD_READ_ONLY",
        "message": "'files' is read-only for you.",
    }
    assert cell(clients, files_field) == [] and stored_files(clients) == []


def test_a_read_only_field_and_an_editor(
    client, other_user, clients, files_field, actor
):
    membership_create(base=clients.base, user=other_user, role="editor")
    client.force_login(other_user)
    r = drop(client, clients, files_field, SimpleUploadedFile("ok.txt", b"x"))
    assert r.status_code == 200  # editors may add files
    field_rule_set(actor=actor, field=files_field, read_only_below="creator")
    r = drop(client, clients, files_field, SimpleUploadedFile("no.txt", b"x"))
    assert r.status_code == 403 and r.json()["error"] == "FIELD_READ_ONLY"
    assert [f["name"] for f in cell(clients, files_field)] == ["ok.txt"]


def test_rows_fields_and_tables_you_cannot_see_are_404(
    client, web, other_user, clients, files_field, actor
):
    r = drop(
        web, clients, files_field, SimpleUploadedFile("a.txt", b"x"), record_id=999
    )
    assert r.status_code == 404 and r.json()["error"] == "RECORD_NOT_FOUND"
    membership_create(base=clients.base, user=other_user, role="editor")
    client.force_login(other_user)
    field_rule_set(actor=actor, field=files_field, hidden_below="creator")
    r = drop(client, clients, files_field, SimpleUploadedFile("a.txt", b"x"))
    assert r.status_code == 404
    field_rule_set(actor=actor, field=files_field, hidden_below=None)
    table_role_set(actor=actor, table=clients, user_id=other_user.pk, role="none")
    r = drop(client, clients, files_field, SimpleUploadedFile("a.txt", b"x"))
    assert r.status_code == 404
    assert stored_files(clients) == []


def test_hostile_file_names(web, clients, files_field):
    r = drop(
        web,
        clients,
        files_field,
        SimpleUploadedFile("../../a' onerror='alert(1)' <b>&.png", image_bytes()),
        SimpleUploadedFile("..\\..\\evil\x00.txt", b"x"),
    )
    assert r.status_code == 200
    td = r.content.decode()
    # Folders, control and reserved characters go; what is left is escaped in the cell.
    names = [f["name"] for f in cell(clients, files_field)]
    assert names == ["a' onerror='alert(1)' _b_&.png", "evil.txt"]
    assert "onerror='" not in td and "a&#x27; onerror=&#x27;alert(1)&#x27;" in td
    assert "&amp;.png" in td
    root = (Path(django_settings.MEDIA_ROOT) / "attachments" / clients.pk).resolve()
    assert len(stored_files(clients)) == 3  # two files and the image's thumbnail
    for f in stored_files(clients):
        assert f.resolve().is_relative_to(root / files_field.pk)


def test_other_cells_still_refuse_files(web, clients):
    """Only attachment cells take files; a text cell's POST is a value, as before."""
    name = clients.fields.get(title="name")
    r = web.post(
        cell_url(clients, name),
        {"value": "Renamed", "files": [SimpleUploadedFile("a.txt", b"x")]},
        **GRID,
    )
    assert r.status_code == 200
    assert records.get_record(clients, 1, actor=SYSTEM)["name"] == "Renamed"
    assert stored_files(clients) == []
