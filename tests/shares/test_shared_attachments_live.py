"""A shared view's live rows (views/realtime/live.py) carry attachment thumbnails too: the
rows pushed to a visitor are drawn by the same `_Visit.cells` as the page."""

import re

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from bases import attachments, schema_services
from bases.demo import create_demo_base
from permissions.checks import SYSTEM, Actor
from tests.images import image_bytes
from tests.views.test_realtime import (  # noqa: F401 - the layer fixture
    fresh_layer,
    next_of,
    router,
    run,
)
from tests.views.test_realtime_live import visit
from views import shares
from views.services import view_create, view_update

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_visitor_is_pushed_the_thumbnail_of_a_new_file(user):
    cache.clear()
    owner = Actor(user=user)
    clients = create_demo_base(user).tables.get(title="clients")
    files = schema_services.field_create(
        actor=owner, table=clients, data={"title": "files", "uidt": "Attachment"}
    )
    view = view_create(actor=owner, table=clients, title="Public", type="grid")
    # The key is hidden from visitors: the pushed row names its file by an opaque reference.
    view_update(
        actor=owner,
        view=view,
        data={"hidden_fields": [clients.fields.get(title="Id").pk]},
    )
    share = shares.share_enable(actor=owner, view=view)

    pushed = []

    async def scenario():
        comm, ok, _ = await visit(share)
        assert ok
        await comm.receive_json_from(timeout=2)  # hello
        await sync_to_async(attachments.attachments_add)(
            actor=SYSTEM,
            table=clients,
            record_id=3,
            field_id=files.pk,
            files=[SimpleUploadedFile("live.png", image_bytes(300, 300))],
        )
        pushed.append(await next_of(comm, "shared.rows"))
        await comm.disconnect()

    run(scenario)
    (row,) = pushed[0]["rows"]
    (src,) = re.findall(r'<img class="att-mini" src="([^"]+)"', row["html"])
    assert src.startswith(f"/s/{share.token}/files/")
    served = Client().get(src)
    assert served.status_code == 200 and served["Content-Type"] == "image/webp"
