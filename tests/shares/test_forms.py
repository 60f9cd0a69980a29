"""Form views and public forms (views/form_view.py, views/form_pages.py)."""

import copy

import pytest
from django.core.cache import cache
from django.test import Client

from bases import records
from bases.demo import create_demo_base
from nocoplatform.errors import InvalidInput
from permissions.checks import SYSTEM
from permissions.services import membership_create
from views import form_view, services, shares
from views.form_view import simple_markdown

pytestmark = pytest.mark.django_db


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
    return base.tables.get(title="clients")


def f(table, title):
    return table.fields.get(title=title)


@pytest.fixture
def form(clients, actor):
    view = services.view_create(
        actor=actor, table=clients, title="Sign up", type="form"
    )
    form_view.form_config_save(
        actor=actor,
        view=view,
        data={
            "title": "Join us",
            "description": "Tell us **who** you are. <script>x</script>",
            "after": "another",
            "message": "Thanks!",
            "fields": [
                {"id": f(clients, "name").pk, "label": "Your name", "required": True},
                {
                    "id": f(clients, "email").pk,
                    "required": True,
                    "help": "*work* email",
                },
                {"id": f(clients, "city").pk, "default": "Lisbon"},
            ],
        },
    )
    return view


@pytest.fixture
def share(form, actor):
    return shares.share_enable(actor=actor, view=form)


@pytest.fixture
def anon():
    return Client()


def count(clients, where=""):
    return records.count_records(
        clients, {"where": where} if where else {}, actor=SYSTEM
    )


def test_form_renders_fields_labels_defaults_and_safe_markdown(anon, share):
    html = anon.get(f"/f/{share.token}/").content.decode()
    assert "Join us" in html and "Your name" in html
    assert "<strong>who</strong>" in html and "<script>x" not in html
    assert "&lt;script&gt;" in html
    assert "<em>work</em>" in html
    assert "selected>Lisbon<" in html  # default value
    assert "notes" not in html  # not in the form


def test_valid_submission_creates_the_row_and_offers_another(anon, share, clients):
    before = count(clients)
    response = anon.post(
        f"/f/{share.token}/",
        {
            f(clients, "name").pk: "Form Person",
            f(clients, "email").pk: "form@example.com",
            f(clients, "city").pk: "Berlin",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Thanks!" in html and "Submit another" in html
    assert count(clients) == before + 1
    row = records.list_records(
        clients, {"where": "(name,eq,Form Person)"}, actor=SYSTEM
    )[0]
    assert row["email"] == "form@example.com" and row["city"] == "Berlin"


def test_mass_assignment_is_ignored(anon, share, clients):
    notes, phone = f(clients, "notes"), f(clients, "phone")
    response = anon.post(
        f"/f/{share.token}/",
        {
            f(clients, "name").pk: "Mass Person",
            f(clients, "email").pk: "mass@example.com",
            notes.pk: "injected",
            "notes": "injected",
            phone.pk: "+1 555 0100",
            "Id": "99999",
            "id": "99999",
        },
    )
    assert response.status_code == 200
    row = records.list_records(
        clients, {"where": "(name,eq,Mass Person)"}, actor=SYSTEM
    )[0]
    assert row["notes"] in (None, "") and row["phone"] in (None, "")
    assert row["Id"] != 99999


def test_required_and_invalid_keep_typed_values_with_field_messages(
    anon, share, clients
):
    before = count(clients)
    response = anon.post(
        f"/f/{share.token}/",
        {f(clients, "name").pk: "", f(clients, "email").pk: "not-an-email"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert "is not a valid email address" in html
    assert 'value="not-an-email"' in html
    assert count(clients) == before
    # Select values outside the choices are refused too.
    response = anon.post(
        f"/f/{share.token}/",
        {
            f(clients, "name").pk: "X",
            f(clients, "email").pk: "x@example.com",
            f(clients, "city").pk: "Atlantis",
        },
    )
    assert (
        response.status_code == 400
        and "not one of the choices" in response.content.decode()
    )
    assert count(clients) == before


def test_honeypot_pretends_and_creates_nothing(anon, share, clients):
    before = count(clients)
    response = anon.post(
        f"/f/{share.token}/",
        {
            f(clients, "name").pk: "Bot",
            f(clients, "email").pk: "bot@example.com",
            "website_url": "http://spam.example",
        },
    )
    assert response.status_code == 200 and "Thanks!" in response.content.decode()
    assert count(clients) == before


def test_rate_limit_per_address(share, clients, settings):
    settings.NOCO_FORM_RATE_LIMIT = 2
    c = Client(REMOTE_ADDR="10.0.0.5")
    data = {f(clients, "name").pk: "R", f(clients, "email").pk: "r@example.com"}
    assert c.post(f"/f/{share.token}/", data).status_code == 200
    assert c.post(f"/f/{share.token}/", data).status_code == 200
    limited = c.post(f"/f/{share.token}/", data)
    assert (
        limited.status_code == 429
        and 'value="r@example.com"' in limited.content.decode()
    )
    assert (
        Client(REMOTE_ADDR="10.0.0.6").post(f"/f/{share.token}/", data).status_code
        == 200
    )


def test_prefill_by_url_and_hidden_prefill(anon, share, form, clients, actor):
    cfg = form_view.config(form)
    cfg["fields"][2]["hidden_prefill"] = True
    form_view.form_config_save(actor=actor, view=form, data=cfg)
    html = anon.get(f"/f/{share.token}/?name=Pre+Filled&city=Osaka").content.decode()
    assert 'value="Pre Filled"' in html
    assert f'type="hidden" name="{f(clients, "city").pk}" value="Osaka"' in html


def test_redirect_after_submit_http_only(anon, share, form, actor, clients):
    cfg = form_view.config(form)
    with pytest.raises(InvalidInput):
        form_view.form_config_save(
            actor=actor,
            view=form,
            data={**cfg, "after": "redirect", "redirect_url": "javascript:alert(1)"},
        )
    form_view.form_config_save(
        actor=actor,
        view=form,
        data={**cfg, "after": "redirect", "redirect_url": "https://example.com/thanks"},
    )
    response = anon.post(
        f"/f/{share.token}/",
        {f(clients, "name").pk: "Redirected", f(clients, "email").pk: "r@example.com"},
    )
    assert (
        response.status_code == 302
        and response["Location"] == "https://example.com/thanks"
    )


def test_form_and_view_links_do_not_cross(anon, share, clients, actor):
    assert anon.get(f"/s/{share.token}/").status_code == 404
    grid = services.view_create(actor=actor, table=clients, title="A grid")
    grid_share = shares.share_enable(actor=actor, view=grid)
    assert anon.get(f"/f/{grid_share.token}/").status_code == 404
    shares.share_revoke(actor=actor, share=share)
    assert anon.get(f"/f/{share.token}/").status_code == 404


def test_link_field_search_is_limited_to_the_display_field(base, actor, anon):
    projects = base.tables.get(title="projects")
    link = projects.fields.get(uidt="LinkToAnotherRecord", options__relation="bt")
    view = services.view_create(
        actor=actor, table=projects, title="New project", type="form"
    )
    form_view.form_config_save(
        actor=actor,
        view=view,
        data={
            "fields": [
                {"id": f(projects, "name").pk, "required": True},
                {"id": link.pk},
            ]
        },
    )
    share = shares.share_enable(actor=actor, view=view)
    clients = link.related_table
    first = records.list_records(clients, {"limit": "1"}, actor=SYSTEM)[0]
    url = f"/f/{share.token}/links/{link.pk}"
    html = anon.get(url, {"q": first["name"][:6]}).content.decode()
    assert first["name"] in html
    # Other fields of the linked table are not searched nor shown.
    html = anon.get(url, {"q": first["email"]}).content.decode()
    assert first["email"] not in html and "No match" in html
    # A field not in the form, or a bad token, is 404.
    assert (
        anon.get(f"/f/{share.token}/links/{f(projects, 'name').pk}").status_code == 404
    )
    assert anon.get(f"/f/nope/links/{link.pk}").status_code == 404
    # Submitting with a link sets it.
    response = anon.post(
        f"/f/{share.token}/",
        {f(projects, "name").pk: "Linked P", link.pk: str(first["Id"])},
    )
    assert response.status_code == 200
    row = records.list_records(projects, {"where": "(name,eq,Linked P)"}, actor=SYSTEM)[
        0
    ]
    assert row[link.title]["Id"] == first["Id"]


def test_builder_page_saves_and_needs_views_update(
    web, form, client, other_user, base, clients
):
    url = f"/bases/{base.pk}/views/{form.pk}/form"
    assert "Form “Sign up”" in web.get(url).content.decode()
    name, phone = f(clients, "name"), f(clients, "phone")
    response = web.post(
        url,
        {
            "title": "New title",
            "after": "message",
            "field": [name.pk, phone.pk],
            f"on_{name.pk}": "on",
            f"on_{phone.pk}": "on",
            f"order_{name.pk}": "2",
            f"order_{phone.pk}": "1",
            f"required_{phone.pk}": "on",
        },
    )
    assert response.status_code == 302
    form.refresh_from_db()
    cfg = form_view.config(form)
    assert cfg["title"] == "New title"
    assert [x["id"] for x in cfg["fields"]] == [phone.pk, name.pk]
    assert cfg["fields"][0]["required"]
    membership_create(base=base, user=other_user, role="editor")
    client.force_login(other_user)
    assert client.post(url, {"title": "x"}).status_code == 403


def test_markdown_allows_only_http_links():
    html = simple_markdown("[a](javascript:alert(1)) [b](https://ok.example/x) <b>")
    assert "javascript:" in html and 'href="javascript' not in html
    assert 'href="https://ok.example/x"' in html and "&lt;b&gt;" in html


def test_attachments_in_a_public_form(anon, share, form, clients, actor, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bases import schema_services

    files = schema_services.field_create(
        actor=actor, table=clients, data={"title": "cv", "uidt": "Attachment"}
    )
    cfg = form_view.config(form)
    cfg["fields"].append({"id": files.pk, "required": True})
    form_view.form_config_save(actor=actor, view=form, data=cfg)
    assert 'type="file"' in anon.get(f"/f/{share.token}/").content.decode()
    base_data = {
        f(clients, "name").pk: "With CV",
        f(clients, "email").pk: "cv@example.com",
    }
    # Required: refused without a file.
    response = anon.post(f"/f/{share.token}/", base_data)
    assert (
        response.status_code == 400
        and "This field is required." in response.content.decode()
    )
    # Over the limit: refused, nothing created.
    settings.NOCO_ATTACHMENT_MAX_SIZE = 10
    big = SimpleUploadedFile("cv.pdf", b"%PDF-" + b"x" * 20)
    response = anon.post(f"/f/{share.token}/", {**base_data, files.pk: big})
    assert response.status_code == 400 and "larger than" in response.content.decode()
    assert count(clients, "(name,eq,With CV)") == 0
    settings.NOCO_ATTACHMENT_MAX_SIZE = 1000
    ok = SimpleUploadedFile("../cv.pdf", b"%PDF-1.4 hello", content_type="image/png")
    response = anon.post(f"/f/{share.token}/", {**base_data, files.pk: ok})
    assert response.status_code == 200
    row = records.list_records(clients, {"where": "(name,eq,With CV)"}, actor=SYSTEM)[0]
    (entry,) = row["cv"]
    assert entry["name"] == "cv.pdf" and entry["mime"] == "application/pdf"


@pytest.mark.parametrize("kind", ["bomb", "truncated-jpeg"])
def test_a_hostile_image_in_a_public_form_is_refused(
    anon, share, form, clients, actor, kind
):
    from pathlib import Path

    from django.conf import settings as django_settings
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bases import schema_services
    from tests.images import bomb_png, photo_jpeg, truncated

    files = schema_services.field_create(
        actor=actor, table=clients, data={"title": "cv", "uidt": "Attachment"}
    )
    cfg = form_view.config(form)
    cfg["fields"].append({"id": files.pk})
    form_view.form_config_save(actor=actor, view=form, data=cfg)
    data = bomb_png(30_000, 30_000) if kind == "bomb" else truncated(photo_jpeg())
    response = anon.post(
        f"/f/{share.token}/",
        {
            f(clients, "name").pk: "With picture",
            f(clients, "email").pk: "pic@example.com",
            files.pk: SimpleUploadedFile("me.jpg", data),
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "me.jpg" in html and ("too many pixels" in html or "corrupt" in html)
    assert count(clients, "(name,eq,With picture)") == 0
    root = Path(django_settings.MEDIA_ROOT) / "attachments" / str(clients.pk)
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]


def test_share_page_of_a_form_gives_the_form_link(web, form, base):
    url = f"/bases/{base.pk}/views/{form.pk}/share"
    assert web.post(url, {"action": "enable"}).status_code == 302
    html = web.get(url).content.decode()
    share = shares.ViewShare.objects.get(view=form)
    assert f"/f/{share.token}/" in html and "Public form link" in html


def test_link_search_is_rate_limited(base, actor, settings):
    settings.NOCO_FORM_RATE_LIMIT = 1  # 25 searches per window
    projects = base.tables.get(title="projects")
    link = projects.fields.get(uidt="LinkToAnotherRecord", options__relation="bt")
    view = services.view_create(actor=actor, table=projects, title="P", type="form")
    form_view.form_config_save(
        actor=actor, view=view, data={"fields": [{"id": link.pk}]}
    )
    share = shares.share_enable(actor=actor, view=view)
    c = Client(REMOTE_ADDR="10.0.0.9")
    url = f"/f/{share.token}/links/{link.pk}"
    assert all(c.get(url, {"q": "a"}).status_code == 200 for _ in range(25))
    assert c.get(url, {"q": "a"}).status_code == 429


def test_conditional_fields_are_asked_and_stored_only_when_their_condition_holds(
    anon, share, form, clients, actor
):
    """`show_if` on a field: shown (and required) only while the field above has a value /
    equals a value; on submit the server decides again and ignores what a hidden field
    posted, whatever the browser did."""
    name, email, city = f(clients, "name"), f(clients, "email"), f(clients, "city")
    phone, notes = f(clients, "phone"), f(clients, "notes")
    cfg = form_view.config(form)
    cfg["fields"] += [
        {
            "id": phone.pk,
            "required": True,
            "show_if": {"field": city.pk, "op": "eq", "value": "Berlin"},
        },
        {"id": notes.pk, "show_if": {"field": phone.pk, "op": "filled"}},
    ]
    form_view.form_config_save(actor=actor, view=form, data=cfg)
    page = anon.get(f"/f/{share.token}/").content.decode()
    # City defaults to Lisbon: phone (and notes, which hangs on phone) start hidden.
    assert f'data-id="{phone.pk}" data-show-field="{city.pk}"' in page
    assert 'data-show-op="eq" data-show-value="Berlin" hidden' in page
    assert "js/public_form.js" in page
    base = {name.pk: "Cond", email.pk: "cond@example.com"}
    # Not Berlin: phone and notes are ignored, though posted.
    response = anon.post(
        f"/f/{share.token}/",
        {**base, city.pk: "Lisbon", phone.pk: "+1 555", notes.pk: "sneaky"},
    )
    assert response.status_code == 200, response.content.decode()
    (row,) = records.list_records(clients, {"where": "(name,eq,Cond)"}, actor=SYSTEM)
    assert row["phone"] is None and row["notes"] is None
    # Berlin: phone is asked and required.
    response = anon.post(f"/f/{share.token}/", {**base, city.pk: "Berlin"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    response = anon.post(
        f"/f/{share.token}/",
        {
            **base,
            name.pk: "Cond2",
            city.pk: "Berlin",
            phone.pk: "+1 555",
            notes.pk: "n",
        },
    )
    assert response.status_code == 200
    (row,) = records.list_records(clients, {"where": "(name,eq,Cond2)"}, actor=SYSTEM)
    assert row["phone"] == "+1 555" and row["notes"] == "n"
    # A condition may only look at a field above it, with a known operator.
    bad = copy.deepcopy(form_view.config(form))
    bad["fields"][0]["show_if"] = {"field": city.pk, "op": "filled"}
    with pytest.raises(InvalidInput, match="above it"):
        form_view.form_config_save(actor=actor, view=form, data=bad)
    bad = copy.deepcopy(form_view.config(form))
    bad["fields"][3]["show_if"] = {"field": city.pk, "op": "gt", "value": "1"}
    with pytest.raises(InvalidInput, match="filled, eq"):
        form_view.form_config_save(actor=actor, view=form, data=bad)


def test_the_view_menu_creates_a_form_and_the_builder_saves_conditions(
    web, base, clients
):
    tabs = web.get(f"/bases/{base.pk}/tables/{clients.pk}/").content.decode()
    assert 'value="form"' in tabs and "(soon)" not in tabs
    response = web.post(
        f"/bases/{base.pk}/tables/{clients.pk}/views/new",
        {"title": "Intake", "type": "form"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    view = clients.views.get(title="Intake")
    assert view.type == "form"
    assert response.headers["HX-Redirect"] == f"/bases/{base.pk}/views/{view.pk}/form"
    asked = [item["id"] for item in form_view.config(view)["fields"]]
    assert f(clients, "name").pk in asked and f(clients, "email").pk in asked
    builder = web.get(response.headers["HX-Redirect"]).content.decode()
    assert "Show only when" in builder
    name, email = f(clients, "name").pk, f(clients, "email").pk
    saved = web.post(
        response.headers["HX-Redirect"],
        {
            "field": [name, email],
            f"on_{name}": "on",
            f"on_{email}": "on",
            f"order_{name}": "1",
            f"order_{email}": "2",
            f"show_field_{email}": name,
            f"show_op_{email}": "eq",
            f"show_value_{email}": "Ann",
            "after": "redirect",
            "redirect_url": "ftp://example.com/",
        },
    )
    assert saved.status_code == 400 and "http:// or https://" in saved.content.decode()
    saved = web.post(
        response.headers["HX-Redirect"],
        {
            "field": [name, email],
            f"on_{name}": "on",
            f"on_{email}": "on",
            f"order_{name}": "1",
            f"order_{email}": "2",
            f"show_field_{email}": name,
            f"show_op_{email}": "eq",
            f"show_value_{email}": "Ann",
            "after": "message",
            "message": "Thanks, **Ann**",
        },
    )
    assert saved.status_code == 302
    view.refresh_from_db()
    (first, second) = form_view.config(view)["fields"]
    assert "show_if" not in first
    assert second["show_if"] == {"field": name, "op": "eq", "value": "Ann"}
