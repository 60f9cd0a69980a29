"""Attachment cells in a shared view: thumbnails through an encrypted per-file reference,
checked on every request (link, password, shown field, row in the view's filter)."""

import io
import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from bases import attachments, records, schema_services
from bases.demo import create_demo_base
from permissions.checks import SYSTEM
from records.writes import insert_rows, update_rows
from tests.images import image_bytes
from views import services, shares

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clients(user, actor):
    table = create_demo_base(user).tables.get(title="clients")
    schema_services.field_create(
        actor=actor, table=table, data={"title": "files", "uidt": "Attachment"}
    )
    schema_services.field_create(
        actor=actor, table=table, data={"title": "private", "uidt": "Attachment"}
    )
    return table


def field(table, title):
    return table.fields.get(title=title)


def add(table, title, record_id, *files):
    return attachments.attachments_add(
        actor=SYSTEM,
        table=table,
        record_id=record_id,
        field_id=field(table, title).pk,
        files=list(files),
    )


@pytest.fixture
def share(clients, actor):
    """Lisbon rows only; the key (Id) and the `private` files hidden from the view."""
    city = field(clients, "city")
    lisbon = records.list_records(
        clients, {"where": f"({city.pk},eq,Lisbon)", "limit": "1"}, actor=SYSTEM
    ).rows[0]["Id"]
    other = records.list_records(
        clients, {"where": f"({city.pk},neq,Lisbon)", "limit": "1"}, actor=SYSTEM
    ).rows[0]["Id"]
    add(
        clients,
        "files",
        lisbon,
        SimpleUploadedFile("shown.png", image_bytes(500, 250)),
        SimpleUploadedFile("doc.pdf", b"%PDF-1.4 secret"),
    )
    add(clients, "private", lisbon, SimpleUploadedFile("p.png", image_bytes()))
    add(clients, "files", other, SimpleUploadedFile("away.png", image_bytes()))
    view = services.default_view(clients)
    services.view_update(
        actor=actor,
        view=view,
        data={
            "where": f"({city.pk},eq,Lisbon)",
            "hidden_fields": [field(clients, "Id").pk, field(clients, "private").pk],
        },
    )
    s = shares.share_enable(actor=actor, view=view)
    s.lisbon, s.other = lisbon, other
    return s


def thumbs(html: str) -> list[str]:
    return re.findall(r'<img class="att-mini" src="([^"]+)"', html)


def test_shared_view_shows_thumbnails_served_to_anyone_with_the_link(share, clients):
    anon = Client()
    page = anon.get(f"/s/{share.token}/").content.decode()
    (src,) = thumbs(page)  # the image; the PDF is a chip, the other fields hidden
    assert src.startswith(f"/s/{share.token}/files/") and src.endswith("?thumb=1")
    assert "doc.pdf" in page and "p.png" not in page
    # The reference is opaque: the row's key (hidden in the view) is not in it.
    # One opaque, encrypted segment (random base64: a substring check could collide).
    ref = src.split("/files/")[1].split("?")[0]
    assert "/" not in ref and len(ref) > 40 and not ref.isdigit()
    assert anon.get(f"/s/{share.token}/files/{share.lisbon}?thumb=1").status_code == 404
    r = anon.get(src)
    assert r.status_code == 200 and r["Content-Type"] == "image/webp"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Disposition"].startswith("inline")
    assert "sandbox" in r["Content-Security-Policy"]
    im = Image.open(io.BytesIO(b"".join(r.streaming_content)))
    assert im.size == (256, 128)


def test_references_cannot_be_forged_or_moved_to_another_link(share, clients, actor):
    anon = Client()
    (src,) = thumbs(anon.get(f"/s/{share.token}/").content.decode())
    ref = src.split("/files/")[1].split("?")[0]
    # Tampered, or made up: 404.
    assert anon.get(f"/s/{share.token}/files/{ref[:-4]}AAAA").status_code == 404
    assert anon.get(f"/s/{share.token}/files/nope").status_code == 404
    # Another shared view of the same table cannot use this link's reference.
    other_view = services.view_create(actor=actor, table=clients, title="All")
    other = shares.share_enable(actor=actor, view=other_view)
    assert anon.get(f"/s/{other.token}/files/{ref}").status_code == 404
    # A new link: the old one is gone, files included.
    shares.share_regenerate(actor=actor, share=share)
    assert anon.get(src).status_code == 404


def test_hidden_fields_and_rows_outside_the_filter_are_unreachable(share, clients):
    """References are made by the server only for shown cells; even one made for a hidden
    field or for a row outside the view's filter is refused."""
    from views.share_pages import file_ref

    anon = Client()
    private = field(clients, "private")
    files = field(clients, "files")
    (p,) = records.get_record(clients, share.lisbon, actor=SYSTEM)["private"]
    (away,) = records.get_record(clients, share.other, actor=SYSTEM)["files"]
    for record_id, fid, file_id in (
        (share.lisbon, private.pk, p["id"]),  # a field the view hides
        (share.other, files.pk, away["id"]),  # a row its filter leaves out
        (share.lisbon, files.pk, away["id"]),  # a file of another row
    ):
        ref = file_ref(share, record_id, fid, file_id)
        assert anon.get(f"/s/{share.token}/files/{ref}?thumb=1").status_code == 404
    # A row that leaves the view's filter takes its files with it.
    (src,) = thumbs(anon.get(f"/s/{share.token}/").content.decode())
    update_rows(clients, [{"Id": share.lisbon, "city": "Berlin"}], actor=SYSTEM)
    assert anon.get(src).status_code == 404


def test_only_pictures_reach_visitors(share, clients):
    from views.share_pages import file_ref

    anon = Client()
    pdf = records.get_record(clients, share.lisbon, actor=SYSTEM)["files"][1]
    ref = file_ref(share, share.lisbon, field(clients, "files").pk, pdf["id"])
    assert anon.get(f"/s/{share.token}/files/{ref}").status_code == 404


def test_a_password_protects_the_files_too(share, clients, actor):
    anon = Client()
    (src,) = thumbs(anon.get(f"/s/{share.token}/").content.decode())
    shares.share_update(actor=actor, share=share, password="open sesame")
    assert anon.get(src).status_code == 404
    anon.post(f"/s/{share.token}/", {"password": "open sesame"})
    assert anon.get(src).status_code == 200


def test_search_and_next_pages_still_work_with_attachment_cells(share, clients):
    from views.share_pages import PAGE_SIZE

    insert_rows(
        clients,
        [{"name": f"Lisbon Co {i}", "city": "Lisbon"} for i in range(PAGE_SIZE)],
        actor=SYSTEM,
    )
    anon = Client()
    first = anon.get(f"/s/{share.token}/").content.decode()
    assert len(thumbs(first)) == 1
    next_url = re.search(r'href="(\?[^"]*cursor=[^"]+)"', first).group(1)
    second = anon.get(f"/s/{share.token}/" + next_url.replace("&amp;", "&"))
    assert second.status_code == 200
    assert thumbs(second.content.decode()) == []  # the next rows have no files
    name = records.get_record(clients, share.lisbon, actor=SYSTEM)["name"]
    found = anon.get(f"/s/{share.token}/", {"q": name}).content.decode()
    assert len(thumbs(found)) == 1 and anon.get(thumbs(found)[0]).status_code == 200
