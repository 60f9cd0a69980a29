"""The HTML pages: create a webhook (secret shown once), edit, test, the log, switch-off notice."""

import pytest

from webhooks.delivery import drain
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db


def page(table, suffix=""):
    return f"/bases/{table.base_id}/tables/{table.pk}/webhooks/{suffix}"


def form(receiver, **extra):
    data = {
        "title": "Orders to ERP",
        "url": receiver.url,
        "method": "POST",
        "events": ["insert", "update"],
        "condition": "",
        "condition_mode": "becomes_true",
        "headers": "X-Api-Key: k1",
        "batch_size": "1",
        "active": "on",
    }
    data.update(extra)
    return data


def test_table_page_links_to_webhooks(web, tasks_table):
    res = web.get(f"/bases/{tasks_table.base_id}/tables/{tasks_table.pk}/")
    assert page(tasks_table).encode() in res.content


def test_create_edit_test_and_log(web, tasks_table, receiver):
    res = web.post(page(tasks_table), form(receiver), follow=True)
    assert res.redirect_chain and res.status_code == 200  # a reload cannot create twice
    hook = Webhook.objects.get()
    assert b"will not be shown again" in res.content
    assert b"whsec_" in res.content
    assert hook.headers == {"X-Api-Key": "k1"} and hook.events == ["insert", "update"]
    detail = web.get(page(tasks_table, f"{hook.pk}/"))
    assert b"whsec_" not in detail.content and b"Orders to ERP" in detail.content

    # A bad condition is explained and the typed values stay on screen.
    bad = web.post(
        page(tasks_table, f"{hook.pk}/"),
        form(receiver, title="Renamed", condition="(missing,eq,1)"),
    )
    assert bad.status_code == 200 and b"missing" in bad.content
    assert b'value="Renamed"' in bad.content
    assert Webhook.objects.get().title == "Orders to ERP"

    ok = web.post(page(tasks_table, f"{hook.pk}/"), form(receiver, title="Renamed"))
    assert ok.status_code == 302 and Webhook.objects.get().title == "Renamed"

    tested = web.post(page(tasks_table, f"{hook.pk}/test"), HTTP_HX_REQUEST="true")
    assert tested.status_code == 200 and b"HTTP 200" in tested.content
    assert b"<html" not in tested.content  # just the partial
    assert receiver.wait_for(1)[0].headers["X-Api-Key"] == "k1"

    web.post(
        f"/api/v2/tables/{tasks_table.pk}/records",
        {"title": "x"},
        content_type="application/json",
    )
    drain()
    detail = web.get(page(tasks_table, f"{hook.pk}/"))
    assert b"records.after.insert" in detail.content and b"Resend" in detail.content


def test_switched_off_notice_for_owners(web, tasks_table, receiver):
    web.post(page(tasks_table), form(receiver))
    Webhook.objects.update(active=False, disabled_reason="Switched off after 10 events")
    listing = web.get(page(tasks_table))
    assert b"is switched off: Switched off after 10 events" in listing.content


def test_refused_url_is_explained(web, tasks_table, receiver, settings):
    settings.NOCO_WEBHOOKS_ALLOW_PRIVATE = False
    res = web.post(page(tasks_table), form(receiver))
    assert res.status_code == 200 and b"loopback" in res.content
    assert receiver.url.encode() in res.content  # the typed URL stays
    assert not Webhook.objects.exists()


def test_rotating_shows_the_new_secret_once(web, tasks_table, receiver):
    web.post(page(tasks_table), form(receiver))
    hook = Webhook.objects.get()
    before = hook.secret_encrypted
    res = web.post(page(tasks_table, f"{hook.pk}/secret"), follow=True)
    assert b"whsec_" in res.content and res.redirect_chain
    assert Webhook.objects.get().secret_encrypted != before
    assert b"whsec_" not in web.get(page(tasks_table, f"{hook.pk}/")).content


def test_send_this_row_from_the_expanded_row(web, tasks_table, receiver):
    """The expanded row offers each active webhook; sending delivers the row as it is now."""
    web.post(page(tasks_table), form(receiver))
    hook = Webhook.objects.get()
    web.post(
        f"/api/v2/tables/{tasks_table.pk}/records",
        {"title": "to send"},
        content_type="application/json",
    )
    drain()
    receiver.requests.clear()
    expanded = web.get(
        f"/bases/{tasks_table.base_id}/tables/{tasks_table.pk}/grid/rows/1/expand"
    ).content.decode()
    send_url = f"/bases/{tasks_table.base_id}/tables/{tasks_table.pk}/rows/1/send"
    assert send_url in expanded  # the panel loads into the expanded row
    panel = web.get(send_url).content.decode()
    assert "Orders to ERP" in panel
    sent = web.post(send_url, {"hook": hook.pk}).content.decode()
    assert "Queued for" in sent
    drain()
    [call] = receiver.wait_for(1)
    body = call.json
    assert body["type"] == "records.manual.trigger"
    assert body["data"]["rows"][0]["title"] == "to send"
