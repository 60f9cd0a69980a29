"""Shared views: public read-only links (views/shares.py, views/share_pages.py)."""

import pytest
from django.core.cache import cache
from django.test import Client

from bases import records
from bases.demo import create_demo_base
from nocoplatform.errors import DomainError, NotFound
from permissions.checks import SYSTEM, Actor
from permissions.services import membership_create
from records.writes import insert_rows
from views import services, shares
from views.models import ViewShare

pytestmark = pytest.mark.django_db
SECRET = "TOP-SECRET-NOTE-xyz"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def base(user):
    return create_demo_base(user)


@pytest.fixture
def clients(base):
    table = base.tables.get(title="clients")
    # A row in Lisbon with a secret in two fields the view hides.
    insert_rows(
        table,
        [
            {
                "name": "Lisbon Secret Co",
                "city": "Lisbon",
                "notes": SECRET,
                "email": "hidden@secret.example",
            }
        ],
        actor=SYSTEM,
    )
    return table


def f(table, title):
    return table.fields.get(title=title)


@pytest.fixture
def view(clients, actor):
    v = services.default_view(clients)
    services.view_update(
        actor=actor,
        view=v,
        data={
            "where": f"({f(clients, 'city').pk},eq,Lisbon)",
            "hidden_fields": [f(clients, "notes").pk, f(clients, "email").pk],
        },
    )
    return v


@pytest.fixture
def share(view, actor):
    return shares.share_enable(actor=actor, view=view)


@pytest.fixture
def anon():
    return Client()


def page(anon, share, query=""):
    return anon.get(f"/s/{share.token}/{query}")


def test_shared_view_shows_only_visible_fields_and_filtered_rows(anon, share, clients):
    response = page(anon, share)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Lisbon Secret Co" in html
    assert SECRET not in html and "hidden@secret.example" not in html
    assert ">notes<" not in html and ">email<" not in html
    assert ">phone<" in html
    # Only Lisbon rows: every other city is filtered out by the view.
    for city in ("Berlin", "Nairobi", "Osaka", "Toronto"):
        assert city not in html
    assert response["X-Content-Type-Options"] == "nosniff"


def test_visitor_params_cannot_widen_or_reach_hidden_fields(anon, share, clients):
    notes = f(clients, "notes")
    city = f(clients, "city")
    # The API's parameters are not the page's: ignored, the view's filter stays.
    html = page(
        anon, share, f"?where=(city,eq,Berlin)~or(city,neq,x)&fields={notes.pk}"
    )
    html = html.content.decode()
    assert "Berlin" not in html and SECRET not in html
    # A temporary filter can narrow the rows, never widen them.
    html = page(anon, share, f"?ff={city.pk}&fo=neq&fv=Lisbon").content.decode()
    assert "Lisbon Secret Co" not in html and "Berlin" not in html
    # A filter or sort on a hidden field is ignored (no oracle on its values).
    wrong = page(anon, share, f"?ff={notes.pk}&fo=eq&fv=nothing").content.decode()
    assert "Lisbon Secret Co" in wrong
    right = page(anon, share, f"?ff={notes.pk}&fo=eq&fv={SECRET}").content.decode()
    assert "Lisbon Secret Co" in right
    assert page(anon, share, f"?sort=-{notes.pk}").status_code == 200
    # The search looks only at the shown fields.
    html = page(anon, share, f"?q={SECRET}").content.decode()
    assert "Lisbon Secret Co" not in html and "No rows." in html


def test_visitor_filter_search_and_sort_work_on_shown_fields(anon, share, clients):
    name = f(clients, "name")
    html = page(anon, share, f"?ff={name.pk}&fo=like&fv=Secret").content.decode()
    assert "Lisbon Secret Co" in html
    html = page(anon, share, "?q=Secret Co").content.decode()
    assert "Lisbon Secret Co" in html
    assert page(anon, share, f"?sort=-{name.pk}").status_code == 200


def test_csv_only_when_allowed_and_only_shown_fields(anon, share, actor, clients):
    assert anon.get(f"/s/{share.token}/csv").status_code == 404
    shares.share_update(actor=actor, share=share, allow_csv=True)
    insert_rows(clients, [{"name": "=HYPERLINK(1)", "city": "Lisbon"}], actor=SYSTEM)
    response = anon.get(f"/s/{share.token}/csv?where=(city,eq,Berlin)")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    header = body.splitlines()[0].split(",")
    assert "notes" not in header and "email" not in header and "name" in header
    assert "Lisbon Secret Co" in body and SECRET not in body
    assert "hidden@secret.example" not in body and "Berlin" not in body
    assert "'=HYPERLINK(1)" in body  # formula injection defused
    expected = records.count_records(
        clients, {"where": "(city,eq,Lisbon)"}, actor=SYSTEM
    )
    assert len(body.strip().splitlines()) == expected + 1


def test_csv_header_defuses_formula_like_field_titles(anon, share, actor, clients):
    """A field titled like a formula is a spreadsheet formula in the header row too."""
    from bases.schema_services import field_update

    shares.share_update(actor=actor, share=share, allow_csv=True)
    field_update(
        actor=actor, field=f(clients, "name"), data={"title": "=cmd|'/c calc'!A1"}
    )
    field_update(actor=actor, field=f(clients, "phone"), data={"title": "@SUM(1)"})
    response = anon.get(f"/s/{share.token}/csv")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    header = body.splitlines()[0]
    assert "'=cmd|'/c calc'!A1" in header and "'@SUM(1)" in header
    assert not any(cell.startswith(("=", "@")) for cell in header.split(","))


def test_revoke_and_regenerate_make_the_old_link_404(anon, share, actor, web, view):
    old = share.token
    assert page(anon, share).status_code == 200
    shares.share_regenerate(actor=actor, share=share)
    assert anon.get(f"/s/{old}/").status_code == 404
    assert anon.get(f"/s/{old}/csv").status_code == 404
    assert page(anon, share).status_code == 200 and share.token != old
    # Through the settings page too.
    url = f"/bases/{view.table.base_id}/views/{view.pk}/share"
    assert web.post(url, {"action": "revoke"}).status_code == 302
    assert not ViewShare.objects.filter(pk=share.pk).exists()
    assert page(anon, share).status_code == 404
    assert anon.get("/s/not-a-token/").status_code == 404


def test_settings_page_enable_update_and_roles(web, view, client, other_user, base):
    url = f"/bases/{base.pk}/views/{view.pk}/share"
    assert "not shared" in web.get(url).content.decode()
    assert web.post(url, {"action": "enable"}).status_code == 302
    share = ViewShare.objects.get(view=view)
    assert len(share.token) >= 32
    web.post(url, {"action": "update", "password": "s3cret", "allow_csv": "on"})
    share.refresh_from_db()
    assert share.allow_csv and share.password.startswith(("pbkdf2", "argon2", "md5"))
    assert "s3cret" not in share.password
    # An editor may not share; a stranger does not even see the view.
    membership_create(base=base, user=other_user, role="editor")
    client.force_login(other_user)
    assert client.post(url, {"action": "regenerate"}).status_code == 403
    html = client.get(url).content.decode()
    assert share.token in html  # members who can read the view may see its link
    assert "Stop sharing" not in html


def test_stranger_cannot_manage_shares(client, other_user, view, base):
    client.force_login(other_user)
    url = f"/bases/{base.pk}/views/{view.pk}/share"
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "enable"}).status_code == 404
    with pytest.raises(NotFound):
        shares.share_enable(actor=Actor(user=other_user), view=view)


def test_password_wrong_refused_then_cookie_then_rate_limit(
    anon, share, actor, settings
):
    settings.NOCO_SHARE_PASSWORD_ATTEMPTS = 3
    shares.share_update(actor=actor, share=share, password="open sesame")
    html = page(anon, share).content.decode()
    assert "protected" in html and "Lisbon Secret Co" not in html
    wrong = anon.post(f"/s/{share.token}/", {"password": "nope"})
    assert wrong.status_code == 403 and "Lisbon Secret Co" not in wrong.content.decode()
    right = anon.post(f"/s/{share.token}/", {"password": "open sesame"})
    assert right.status_code == 302
    assert "Lisbon Secret Co" in page(anon, share).content.decode()
    # A new password signs the visitor out.
    shares.share_update(actor=actor, share=share, password="new one")
    assert "Lisbon Secret Co" not in page(anon, share).content.decode()
    # A forged cookie is refused.
    forger = Client()
    forger.cookies[shares.cookie_name(share)] = shares.unlock_value(share)
    assert "Lisbon Secret Co" not in page(forger, share).content.decode()
    # Rate limit per address: after 3 wrong tries even the right one is refused.
    other = Client(REMOTE_ADDR="10.1.2.3")
    for _ in range(3):
        assert other.post(f"/s/{share.token}/", {"password": "x"}).status_code == 403
    limited = other.post(f"/s/{share.token}/", {"password": "new one"})
    assert limited.status_code == 429
    # Another address is not affected.
    elsewhere = Client(REMOTE_ADDR="10.9.8.7")
    assert (
        elsewhere.post(f"/s/{share.token}/", {"password": "new one"}).status_code == 302
    )


def test_csv_needs_the_password_too(anon, share, actor):
    shares.share_update(actor=actor, share=share, password="pw", allow_csv=True)
    assert anon.get(f"/s/{share.token}/csv").status_code == 404
    anon.post(f"/s/{share.token}/", {"password": "pw"})
    assert anon.get(f"/s/{share.token}/csv").status_code == 200


def test_link_lives_with_its_sharers_right_to_share(anon, view, base, other_user):
    membership_create(base=base, user=other_user, role="creator")
    share = shares.share_enable(actor=Actor(user=other_user), view=view)
    assert page(anon, share).status_code == 200
    # The sharer loses the right to share: the link goes down with it.
    from permissions.models import Membership

    Membership.objects.filter(base=base, user=other_user).update(role="editor")
    assert page(anon, share).status_code == 404


def test_share_actor_reaches_nothing_else(share, clients, base):
    a = shares.share_actor(share)
    notes = f(clients, "notes")
    with pytest.raises(DomainError) as exc:
        records.list_records(clients, {"fields": notes.pk}, actor=a)
    assert exc.value.code == "FIELD_NOT_FOUND"
    with pytest.raises(DomainError):
        records.list_records(clients, {"where": f"({notes.pk},eq,x)"}, actor=a)
    with pytest.raises(DomainError) as exc:
        insert_rows(clients, [{"name": "x"}], actor=a)
    assert exc.value.status == 403
    # Another table: only the display field its shown link chips need (and its key).
    projects = base.tables.get(title="projects")
    page_ = records.list_records(projects, {"limit": "1"}, actor=a)
    assert page_.rows and all(set(r) <= {"Id", "name"} for r in page_)
    tasks = base.tables.get(title="tasks")
    assert all(set(r) <= {"Id"} for r in records.list_records(tasks, {}, actor=a))


def test_an_unlocked_visitor_reaches_no_api_member_list_or_page(
    anon, share, actor, base
):
    shares.share_update(actor=actor, share=share, password="pw")
    anon.post(f"/s/{share.token}/", {"password": "pw"})
    table = share.view.table
    assert anon.get(f"/api/v2/tables/{table.pk}/records").status_code == 401
    assert anon.get(f"/api/v2/meta/bases/{base.pk}/users").status_code == 401
    assert anon.get(f"/api/v2/meta/tables/{table.pk}").status_code == 401
    page_ = anon.get(f"/bases/{base.pk}/tables/{table.pk}/")
    assert page_.status_code == 302 and "/login/" in page_["Location"]
    other = services.view_create(actor=actor, table=table, title="Other")
    html = anon.get(f"/s/{share.token}/?viewId={other.pk}&view={other.pk}")
    assert html.status_code == 200 and "Other" not in html.content.decode()
