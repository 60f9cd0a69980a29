"""The permission matrix: every page and API endpoint × every kind of caller.

URL patterns are enumerated from the resolver: an endpoint missing from CASES (or SKIPPED, with
a reason) fails the test, so a new endpoint cannot be forgotten. For each case and caller the
expected outcome follows from the case's minimum role alone (not from permissions.checks), and
every refused write must leave the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from bases import schema_services
from bases.models import Base
from permissions.checks import SYSTEM, Actor
from permissions.models import Comment, ExternalIdentity, Invite, TableRole
from permissions.services import api_token_create, membership_create
from records.writes import insert_rows
from tests.permissions.conftest import (
    ROLES,
    make_user,
    session_client,
    snapshot,
    token_client,
)
from views.services import view_create

pytestmark = pytest.mark.django_db

RANK = {"viewer": 1, "commenter": 2, "editor": 3, "creator": 4, "owner": 5}


@dataclass
class Case:
    name: str  # URL pattern name (or route)
    method: str
    path: Callable  # (world, victim) -> path
    need: str  # "anyone" | "user" | "session" (a logged-in user, not a token) | a role
    body: object = None
    victim: Callable | None = (
        None  # (world, acting user) -> dict, a fresh object to act on
    )
    api: bool = True
    # False when a read-only token may do it although it is not a GET
    write: bool | None = None
    fmt: str | None = None  # "json": a page endpoint that takes a JSON body
    vbody: Callable | None = None  # (world, victim) -> body, when it names the victim

    @property
    def writes(self) -> bool:
        return self.method != "GET" if self.write is None else self.write


def _victim_base(w, who):
    base = Base.objects.create(title="victim", created_by=w.users["owner"])
    for role in ROLES:
        membership_create(base=base, user=w.users[role], role=role)
    return {"base": base}


def _victim_table(w, who):
    t = schema_services.table_create(
        actor=SYSTEM,
        base=w.base,
        title=f"victim {Comment.objects.count()}{TableRole.objects.count()}{_n()}",
    )
    return {"table": t}


_counter = [0]


def _n():
    _counter[0] += 1
    return _counter[0]


def _victim_field(w, who):
    f = schema_services.field_create(
        actor=SYSTEM,
        table=w.table("clients"),
        data={"title": f"victim {_n()}", "uidt": "SingleLineText"},
    )
    return {"field": f}


def _victim_view(w, who):
    view = view_create(
        actor=Actor(user=w.users["owner"]),
        table=w.table("clients"),
        title=f"victim {_n()}",
    )
    return {"view": view}


def _victim_deleted(w, who):
    """A clients row deleted just now: its trash entry (history/trash.py) to restore."""
    from history.models import DeletedRow
    from records.writes import delete_rows

    t = w.table("clients")
    key = insert_rows(t, [{"name": f"deleted {_n()}"}], actor=SYSTEM)[0]
    delete_rows(t, {"Id": key[0]}, actor=SYSTEM)
    entry = DeletedRow.objects.filter(table=t).order_by("-id").first()
    return {"entry": entry.pk, "record": entry.record_id}


def _victim_import(w, who):
    """An uploaded CSV waiting for its mapping, belonging to the acting user."""
    import os

    from imports.models import ImportJob
    from imports.services import _dir

    path = os.path.join(_dir(), f"matrix-{_n()}.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("name\nimported\n")
    job = ImportJob.objects.create(
        table=w.table("clients"),
        user=who or w.users["owner"],
        file_name="m.csv",
        path=path,
        encoding="utf-8",
        delimiter=",",
        header=["name"],
        mapping={"0": w.field("clients", "name").pk},
    )
    return {"job": job}


def _victim_export(w, who):
    """A finished export (imports/exports.py) of a clients view, made by the acting user."""
    from imports.exports import export_path
    from imports.models import ExportJob

    view = _victim_view(w, who)["view"]
    job = ExportJob.objects.create(
        table=w.table("clients"),
        view_id=view.pk,
        user=who or w.users["owner"],
        format="csv",
        file_name="clients.csv",
        status="done",
        total=1,
        done=1,
    )
    job.path = export_path(job)
    with open(job.path, "w", encoding="utf-8") as f:
        f.write("name\nx\n")
    job.save(update_fields=["path"])
    return {"view": view, "job": job}


def _victim_new_table_import(w, who):
    """A CSV uploaded to become a new table, waiting to start, of the acting user."""
    import os

    from imports.models import NewTableJob
    from imports.services import _dir

    path = os.path.join(_dir(), f"matrix-new-{_n()}.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("name\nimported\n")
    job = NewTableJob.objects.create(
        base=w.base,
        user=who or w.users["owner"],
        file_name="m.csv",
        path=path,
        encoding="utf-8",
        delimiter=",",
        header=["name"],
        title=f"imported {_n()}",
        columns=[{"title": "name", "type": "text", "detected": "text"}],
    )
    return {"job": job}


def _victim_kanban(w, who):
    """A kanban view of clients (stacks by city) and a row to move in it."""
    view = view_create(
        actor=Actor(user=w.users["owner"]),
        table=w.table("clients"),
        title=f"victim board {_n()}",
        type="kanban",
    )
    w.victim_row = insert_rows(
        w.table("clients"), {"name": "mover", "city": "Lisbon"}, actor=SYSTEM
    )[0][0]
    return {"view": view}


def _victim_share(w, who):
    from views.shares import share_enable, share_update

    owner = Actor(user=w.users["owner"])
    share = share_enable(actor=owner, view=_victim_view(w, who)["view"])
    share_update(actor=owner, share=share, allow_csv=True)
    return {"share": share, "view": share.view}


def _victim_shared_file(w, who):
    """A shared view of clients whose first row holds an image, and that file's reference."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bases.attachments import attachments_add
    from tests.images import image_bytes
    from views.share_pages import file_ref

    v = _victim_share(w, who)
    table = w.table("clients")
    field = table.fields.filter(
        uidt="Attachment"
    ).first() or schema_services.field_create(
        actor=SYSTEM, table=table, data={"title": "files", "uidt": "Attachment"}
    )
    added = attachments_add(
        actor=SYSTEM,
        table=table,
        record_id=1,
        field_id=field.pk,
        files=[SimpleUploadedFile(f"f{_n()}.png", image_bytes())],
    )
    return {**v, "ref": file_ref(v["share"], 1, field.pk, added[-1]["id"])}


def _victim_form(w, who):
    from views.shares import share_enable

    owner = Actor(user=w.users["owner"])
    view = view_create(
        actor=owner, table=w.table("clients"), title=f"form {_n()}", type="form"
    )
    return {"view": view, "share": share_enable(actor=owner, view=view)}


def _victim_form_link(w, who):
    from views.form_view import form_config_save
    from views.shares import share_enable

    owner = Actor(user=w.users["owner"])
    projects = w.table("projects")
    link = projects.fields.get(uidt="LinkToAnotherRecord", options__relation="bt")
    view = view_create(actor=owner, table=projects, title=f"form {_n()}", type="form")
    form_config_save(actor=owner, view=view, data={"fields": [{"id": link.pk}]})
    share = share_enable(actor=owner, view=view)
    return {"view": view, "share": share, "link": link}


def _victim_attachment(w, who):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bases.attachments import attachments_add

    table = w.table("clients")
    field = table.fields.filter(uidt="Attachment").first()
    if field is None:
        field = schema_services.field_create(
            actor=SYSTEM, table=table, data={"title": "files", "uidt": "Attachment"}
        )
    added = attachments_add(
        actor=SYSTEM,
        table=table,
        record_id=1,
        field_id=field.pk,
        files=[SimpleUploadedFile(f"f{_n()}.txt", b"matrix")],
    )
    return {"field": field, "file": added[-1]["id"]}


def _upload(w):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {"files": [SimpleUploadedFile("m.txt", b"x")]}


def _victim_member(w, who):
    u = make_user(f"victim{_n()}@example.com")
    membership_create(base=w.base, user=u, role="viewer")
    return {"user": u}


def _victim_override(w, who):
    v = _victim_member(w, who)
    TableRole.objects.create(table=w.table("clients"), user=v["user"], role="viewer")
    return v


def _own_comment(w, who):
    author = who or w.users["owner"]
    return {
        "comment": Comment.objects.create(
            base=w.base,
            table=w.table("clients"),
            record_id="1",
            author=author,
            text="mine",
        )
    }


def _owners_comment(w, who):
    return _own_comment(w, None)


def _own_token(w, who):
    user = who or w.users["owner"]
    return {"token": api_token_create(user=user, name="victim")[0]}


def _victim_row(w, who):
    ids = insert_rows(w.table("clients"), {"name": "victim"}, actor=SYSTEM)
    return {"row": ids[0][0]}


def _victim_hook(w, who):
    from webhooks.services import webhook_create

    hook, _ = webhook_create(
        actor=Actor(user=w.users["owner"]),
        table=w.table("clients"),
        data={
            "title": f"victim {_n()}",
            "url": "http://127.0.0.1:9/hook",
            "events": ["insert", "update"],
        },
    )
    return {"hook": hook}


def _victim_hook_log(w, who):
    from webhooks.models import WebhookDelivery

    v = _victim_hook(w, who)
    v["log"] = WebhookDelivery.objects.create(
        webhook=v["hook"], event_type="test", attempt=1, url=v["hook"].url
    )
    return v


def B(w, v):
    return w.base.pk


def T(w, name="clients"):
    return w.table(name).pk


API = "/api/v2"
CASES = [
    Case("api-bases", "GET", lambda w, v: f"{API}/meta/bases/", "user"),
    Case(
        "api-bases",
        "POST",
        lambda w, v: f"{API}/meta/bases/",
        "user",
        body={"title": ""},
    ),
    Case("api/v2/meta/bases", "GET", lambda w, v: f"{API}/meta/bases", "user"),
    Case("api-base", "GET", lambda w, v: f"{API}/meta/bases/{B(w, v)}", "viewer"),
    Case(
        "api-base",
        "PATCH",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}",
        "owner",
        body={"title": ""},
    ),
    Case(
        "api-base",
        "DELETE",
        lambda w, v: f"{API}/meta/bases/{v['base'].pk}",
        "owner",
        victim=_victim_base,
    ),
    Case(
        "api-sources",
        "GET",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/sources",
        "viewer",
    ),
    Case(
        "api-source",
        "GET",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/sources/{w.base.sources.first().pk}",
        "viewer",
    ),
    Case(
        "api-source",
        "PATCH",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/sources/{w.base.sources.first().pk}",
        "owner",
        body={"allow_data_edit": True},
    ),
    Case(
        "api-meta-diff",
        "GET",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/meta-diff",
        "creator",
        write=True,
    ),
    Case(
        "api-meta-diff",
        "POST",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/meta-diff",
        "creator",
    ),
    Case(
        "api-tables", "GET", lambda w, v: f"{API}/meta/bases/{B(w, v)}/tables", "viewer"
    ),
    Case(
        "api-tables",
        "POST",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/tables",
        "creator",
        body={"title": ""},
    ),
    Case("api-table", "GET", lambda w, v: f"{API}/meta/tables/{T(w)}", "viewer"),
    Case(
        "api-table",
        "PATCH",
        lambda w, v: f"{API}/meta/tables/{T(w)}",
        "creator",
        body={"title": ""},
    ),
    Case(
        "api-table",
        "DELETE",
        lambda w, v: f"{API}/meta/tables/{v['table'].pk}",
        "creator",
        victim=_victim_table,
    ),
    Case(
        "api-columns",
        "POST",
        lambda w, v: f"{API}/meta/tables/{T(w)}/columns",
        "creator",
        body={"title": ""},
    ),
    Case(
        "api-column",
        "GET",
        lambda w, v: f"{API}/meta/columns/{w.field('clients', 'name').pk}",
        "viewer",
    ),
    Case(
        "api-column",
        "PATCH",
        lambda w, v: f"{API}/meta/columns/{w.field('clients', 'name').pk}",
        "creator",
        body={"title": ""},
    ),
    Case(
        "api-column",
        "DELETE",
        lambda w, v: f"{API}/meta/columns/{v['field'].pk}",
        "creator",
        victim=_victim_field,
    ),
    Case(
        "api-base-activity",
        "GET",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/activity",
        "owner",
    ),
    Case(
        "api-base-swagger",
        "GET",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/swagger.json",
        "viewer",
    ),
    Case(
        "api-connection-test",
        "POST",
        lambda w, v: f"{API}/meta/connection/test",
        "user",
        body={},
        write=False,
    ),
    Case(
        "api-views",
        "GET",
        lambda w, v: f"{API}/meta/tables/{T(w)}/views",
        "viewer",
        write=False,
    ),
    Case(
        "api-views",
        "POST",
        lambda w, v: f"{API}/meta/tables/{T(w)}/views",
        "creator",
        body={"title": ""},
    ),
    Case(
        "api-grids",
        "POST",
        lambda w, v: f"{API}/meta/tables/{T(w)}/grids",
        "creator",
        body={"title": ""},
    ),
    Case(
        "api-view",
        "GET",
        lambda w, v: f"{API}/meta/views/{v['view'].pk}",
        "viewer",
        victim=_victim_view,
    ),
    Case(
        "api-view",
        "PATCH",
        lambda w, v: f"{API}/meta/views/{v['view'].pk}",
        "creator",
        body={"title": ""},
        victim=_victim_view,
    ),
    Case(
        "api-view",
        "DELETE",
        lambda w, v: f"{API}/meta/views/{v['view'].pk}",
        "creator",
        victim=_victim_view,
    ),
    Case(
        "api-members", "GET", lambda w, v: f"{API}/meta/bases/{B(w, v)}/users", "viewer"
    ),
    Case(
        "api-members",
        "POST",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/users",
        "creator",
        body={"email": "not an email", "roles": "viewer"},
    ),
    Case(
        "api-member",
        "PATCH",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/users/{v['user'].pk}",
        "owner",
        body={"roles": "bogus"},
        victim=_victim_member,
    ),
    Case(
        "api-member",
        "DELETE",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/users/{v['user'].pk}",
        "owner",
        victim=_victim_member,
    ),
    Case(
        "api-table-roles",
        "GET",
        lambda w, v: f"{API}/meta/tables/{T(w)}/roles",
        "owner",
    ),
    Case(
        "api-table-roles",
        "POST",
        lambda w, v: f"{API}/meta/tables/{T(w)}/roles",
        "owner",
        body={"user_id": 0, "roles": "bogus"},
    ),
    Case(
        "api-table-role",
        "DELETE",
        lambda w, v: f"{API}/meta/tables/{T(w)}/roles/{v['user'].pk}",
        "owner",
        victim=_victim_override,
    ),
    Case(
        "api-field-rule",
        "GET",
        lambda w, v: f"{API}/meta/columns/{w.field('clients', 'email').pk}/permissions",
        "owner",
    ),
    Case(
        "api-field-rule",
        "PUT",
        lambda w, v: f"{API}/meta/columns/{w.field('clients', 'email').pk}/permissions",
        "owner",
        body={"hidden_below": "bogus"},
    ),
    Case(
        "api-comment",
        "PATCH",
        lambda w, v: f"{API}/meta/comments/{v['comment'].pk}",
        "commenter",
        body={"comment": ""},
        victim=_own_comment,
    ),
    Case(
        "api-comment",
        "DELETE",
        lambda w, v: f"{API}/meta/comments/{v['comment'].pk}",
        "owner",
        victim=_owners_comment,
    ),
    Case("api-tokens", "GET", lambda w, v: f"{API}/meta/tokens", "user"),
    Case("api-auth-providers", "GET", lambda w, v: f"{API}/auth/providers", "anyone"),
    Case("api-auth-me", "GET", lambda w, v: f"{API}/auth/me", "user"),
    Case(
        "api-tokens",
        "POST",
        lambda w, v: f"{API}/meta/tokens",
        "session",
        body={"name": ""},
    ),
    Case(
        "api-token",
        "DELETE",
        lambda w, v: f"{API}/meta/tokens/{v['token'].pk}",
        "session",
        victim=_own_token,
    ),
    Case("api-records", "GET", lambda w, v: f"{API}/tables/{T(w)}/records", "viewer"),
    Case(
        "api-records",
        "POST",
        lambda w, v: f"{API}/tables/{T(w)}/records",
        "creator",
        body="x",
    ),
    Case(
        "api-records",
        "PATCH",
        lambda w, v: f"{API}/tables/{T(w)}/records",
        "editor",
        body="x",
    ),
    Case(
        "api-records",
        "DELETE",
        lambda w, v: f"{API}/tables/{T(w)}/records",
        "creator",
        body="x",
    ),
    # GraphQL per base (bases/graphql_api.py): reading needs records.read; a mutation is
    # left out of the schema of a caller who may not make it, and answered 403.
    Case(
        "api-graphql",
        "POST",
        lambda w, v: f"{API}/bases/{B(w, v)}/graphql",
        "viewer",
        body={"query": "{ clients(limit: 2) { list { _id name } } }"},
        write=False,
    ),
    Case(
        "api-graphql",
        "POST",
        lambda w, v: f"{API}/bases/{B(w, v)}/graphql",
        "editor",
        body={
            "query": 'mutation { clients_update(data: {_id: "1", name: "renamed"}) '
            "{ _id name } }"
        },
    ),
    Case(
        "graphiql",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/graphql/",
        "viewer",
        api=False,
    ),
    Case(
        "api-records-count",
        "GET",
        lambda w, v: f"{API}/tables/{T(w)}/records/count",
        "viewer",
    ),
    # Editors may import too, updating rows by a key column only (imports/services.py).
    Case(
        "api-import",
        "POST",
        lambda w, v: f"{API}/tables/{T(w)}/import",
        "editor",
        body={},
    ),
    # Listing one's import jobs: as reading one (each caller lists a job of theirs).
    Case(
        "api-import",
        "GET",
        lambda w, v: f"{API}/tables/{T(w)}/import",
        "editor",
        victim=_victim_import,
        write=True,  # a job is part of an import (records.update)
    ),
    Case(
        "api-import-job",
        "GET",
        lambda w, v: f"{API}/tables/{T(w)}/import/{v['job'].pk}",
        "editor",
        victim=_victim_import,
        write=True,  # a job is part of an import (records.update)
    ),
    Case(
        "api-import-job",
        "PATCH",
        lambda w, v: f"{API}/tables/{T(w)}/import/{v['job'].pk}",
        "editor",
        body={"sheet": "Sheet1"},  # a CSV has no sheets: 400 for those allowed
        victim=_victim_import,
    ),
    Case(
        "api-import-job-start",
        "POST",
        lambda w, v: f"{API}/tables/{T(w)}/import/{v['job'].pk}/start",
        "creator",  # inserting rows; an editor's start needs a key column
        victim=_victim_import,
        body={},
    ),
    Case(
        "api-import-job-cancel",
        "POST",
        lambda w, v: f"{API}/tables/{T(w)}/import/{v['job'].pk}/cancel",
        "editor",
        victim=_victim_import,
    ),
    Case(
        "api-import-job-refused",
        "GET",
        lambda w, v: f"{API}/tables/{T(w)}/import/{v['job'].pk}/refused.csv",
        "editor",
        victim=_victim_import,
        write=True,  # part of an import
    ),
    Case(
        "api-base-import",
        "POST",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/import",
        "creator",
        body={},
    ),
    Case(
        "api-base-import-job",
        "GET",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/import/{v['job'].pk}",
        "creator",
        victim=_victim_new_table_import,
        write=True,  # a job is part of an import (table.create)
    ),
    Case(
        "api-base-import-job",
        "PATCH",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/import/{v['job'].pk}",
        "creator",
        body={"sheet": "Sheet1"},  # a CSV has no sheets: 400 for those allowed
        victim=_victim_new_table_import,
    ),
    Case(
        "api-base-import-start",
        "POST",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/import/{v['job'].pk}/start",
        "creator",
        victim=_victim_new_table_import,
        vbody=lambda w, v: {"title": f"started {_n()}"},
    ),
    Case(
        "api-base-import-cancel",
        "POST",
        lambda w, v: f"{API}/meta/bases/{B(w, v)}/import/{v['job'].pk}/cancel",
        "creator",
        victim=_victim_new_table_import,
    ),
    # The trash belongs to restoring (records.restore): no read-only token lists it.
    Case(
        "api-trash",
        "GET",
        lambda w, v: f"{API}/tables/{T(w)}/trash",
        "creator",
        write=True,
    ),
    Case(
        "api-trash-restore",
        "POST",
        lambda w, v: f"{API}/tables/{T(w)}/trash/restore",
        "creator",
        victim=_victim_deleted,
        vbody=lambda w, v: {"ids": [v["entry"]]},
    ),
    Case(
        "api-records-export",
        "GET",
        lambda w, v: f"{API}/tables/{T(w)}/export?format=xlsx",
        "viewer",
    ),
    # The same export as a background job (imports/export_api.py): reading, so viewers and
    # read-only tokens may start, poll, download and cancel their own jobs (each caller here
    # acts on a job of theirs; another user's: 404, tests/views/test_export_jobs_api.py).
    Case(
        "api-export-jobs",
        "POST",
        lambda w, v: f"{API}/tables/{T(w)}/export/jobs",
        "viewer",
        body={"format": "csv"},
        write=False,
    ),
    Case(
        "api-export-jobs",
        "GET",
        lambda w, v: f"{API}/tables/{T(w)}/export/jobs",
        "viewer",
        victim=_victim_export,  # a job of the caller's to list
    ),
    Case(
        "api-export-job",
        "GET",
        lambda w, v: f"{API}/tables/{T(w)}/export/jobs/{v['job'].pk}",
        "viewer",
        victim=_victim_export,
    ),
    Case(
        "api-export-job",
        "DELETE",
        lambda w, v: f"{API}/tables/{T(w)}/export/jobs/{v['job'].pk}",
        "viewer",
        victim=_victim_export,
        write=False,
    ),
    Case(
        "api-export-job-cancel",
        "POST",
        lambda w, v: f"{API}/tables/{T(w)}/export/jobs/{v['job'].pk}/cancel",
        "viewer",
        victim=_victim_export,
        write=False,
    ),
    Case(
        "api-export-job-file",
        "GET",
        lambda w, v: f"{API}/tables/{T(w)}/export/jobs/{v['job'].pk}/file",
        "viewer",
        victim=_victim_export,
    ),
    Case("api-record", "GET", lambda w, v: f"{API}/tables/{T(w)}/records/1", "viewer"),
    Case(
        "api-comments",
        "GET",
        lambda w, v: f"{API}/tables/{T(w)}/records/1/comments",
        "viewer",
    ),
    Case(
        "api-comments",
        "POST",
        lambda w, v: f"{API}/tables/{T(w)}/records/1/comments",
        "commenter",
        body={"comment": ""},
    ),
    Case(
        "api-record-history",
        "GET",
        lambda w, v: f"{API}/tables/{T(w)}/records/1/history",
        "viewer",
    ),
    Case(
        "api-links",
        "GET",
        lambda w, v: (
            f"{API}/tables/{T(w)}/links/{w.field('clients', 'projects').pk}/records/1"
        ),
        "viewer",
    ),
    Case(
        "api-links",
        "POST",
        lambda w, v: (
            f"{API}/tables/{T(w)}/links/{w.field('clients', 'projects').pk}/records/1"
        ),
        "editor",
        body="x",
    ),
    Case(
        "api-links",
        "DELETE",
        lambda w, v: (
            f"{API}/tables/{T(w)}/links/{w.field('clients', 'projects').pk}/records/1"
        ),
        "editor",
        body="x",
    ),
    Case("api-schema", "GET", lambda w, v: f"{API}/meta/openapi.json", "anyone"),
    Case(
        "api-hooks",
        "GET",
        lambda w, v: f"{API}/meta/tables/{T(w)}/hooks",
        "creator",
    ),
    Case(
        "api-hooks",
        "POST",
        lambda w, v: f"{API}/meta/tables/{T(w)}/hooks",
        "creator",
        body={"title": ""},
    ),
    Case(
        "api-hook",
        "GET",
        lambda w, v: f"{API}/meta/hooks/{v['hook'].pk}",
        "creator",
        victim=_victim_hook,
    ),
    Case(
        "api-hook",
        "PATCH",
        lambda w, v: f"{API}/meta/hooks/{v['hook'].pk}",
        "creator",
        body={"title": ""},
        victim=_victim_hook,
    ),
    Case(
        "api-hook",
        "DELETE",
        lambda w, v: f"{API}/meta/hooks/{v['hook'].pk}",
        "creator",
        victim=_victim_hook,
    ),
    Case(
        "api-hook-test",
        "POST",
        lambda w, v: f"{API}/meta/hooks/{v['hook'].pk}/test",
        "creator",
        victim=_victim_hook,
    ),
    Case(
        "api-hook-secret",
        "POST",
        lambda w, v: f"{API}/meta/hooks/{v['hook'].pk}/secret",
        "creator",
        victim=_victim_hook,
    ),
    Case(
        "api-hook-logs",
        "GET",
        lambda w, v: f"{API}/meta/hooks/{v['hook'].pk}/logs",
        "creator",
        victim=_victim_hook,
    ),
    Case(
        "api-hook-resend",
        "POST",
        lambda w, v: f"{API}/meta/hooks/{v['hook'].pk}/logs/{v['log'].pk}/resend",
        "creator",
        victim=_victim_hook_log,
    ),
    Case(
        "api-hook-trigger",
        "POST",
        lambda w, v: f"{API}/meta/hooks/{v['hook'].pk}/trigger",
        "creator",
        body={"rowId": 1},
        victim=_victim_hook,
    ),
    # --- pages (session only; an API token is not a login) ---
    Case(
        "members", "GET", lambda w, v: f"/bases/{B(w, v)}/members/", "viewer", api=False
    ),
    Case(
        "members",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/members/",
        "creator",
        body={"action": "invite", "email": "nope", "role": "viewer"},
        api=False,
    ),
    Case(
        "members",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/members/",
        "owner",
        body=lambda w: {
            "action": "role",
            "user_id": str(w.users["viewer"].pk),
            "role": "bogus",
        },
        api=False,
    ),
    Case(
        "invite_accept",
        "GET",
        lambda w, v: f"/invites/{v['token']}/",
        "anyone",
        victim=lambda w, who: _invite(w),
        api=False,
    ),
    Case(
        "comments_partial",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/rows/1/comments",
        "viewer",
        api=False,
    ),
    Case(
        "record_history",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/rows/1/history",
        "viewer",
        api=False,
    ),
    Case(
        "comments_partial",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/rows/1/comments",
        "commenter",
        body={"text": ""},
        api=False,
    ),
    Case(
        "comment_delete",
        "POST",
        lambda w, v: f"/comments/{v['comment'].pk}/delete",
        "owner",
        victim=_owners_comment,
        api=False,
    ),
    Case(
        "comment_edit",
        "POST",
        lambda w, v: f"/comments/{v['comment'].pk}/edit",
        "commenter",
        body={"text": "edited"},
        victim=_own_comment,
        api=False,
    ),
    Case("home", "GET", lambda w, v: "/", "user", api=False),
    Case(
        "password_change", "GET", lambda w, v: "/account/password/", "user", api=False
    ),
    Case(
        "password_change_done",
        "GET",
        lambda w, v: "/account/password/done/",
        "user",
        api=False,
    ),
    Case("tokens", "GET", lambda w, v: "/account/tokens/", "user", api=False),
    Case(
        "tokens",
        "POST",
        lambda w, v: "/account/tokens/",
        "user",
        body={"name": ""},
        api=False,
    ),
    Case(
        "token_revoke",
        "POST",
        lambda w, v: f"/account/tokens/{v['token'].pk}/revoke",
        "user",
        victim=_own_token,
        api=False,
    ),
    Case("base_new", "GET", lambda w, v: "/bases/new/", "user", api=False),
    Case(
        "base_new",
        "POST",
        lambda w, v: "/bases/new/",
        "user",
        body={"title": ""},
        api=False,
    ),
    Case(
        "connection_test",
        "POST",
        lambda w, v: "/bases/connection-test",
        "user",
        body={},
        api=False,
    ),
    Case("base", "GET", lambda w, v: f"/bases/{B(w, v)}/", "viewer", api=False),
    Case(
        "base",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/",
        "creator",
        body={"title": ""},
        api=False,
    ),
    Case(
        "source_settings",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/settings/",
        "viewer",
        api=False,
    ),
    Case(
        "source_settings",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/settings/",
        "owner",
        body={},
        api=False,
    ),
    Case(
        "sync_diff", "GET", lambda w, v: f"/bases/{B(w, v)}/sync/", "creator", api=False
    ),
    Case(
        "sync_diff",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/sync/",
        "creator",
        api=False,
    ),
    Case("swagger", "GET", lambda w, v: f"/bases/{B(w, v)}/api/", "viewer", api=False),
    Case("erd", "GET", lambda w, v: f"/bases/{B(w, v)}/diagram/", "viewer", api=False),
    Case(
        "activity",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/activity/",
        "owner",
        api=False,
    ),
    Case(
        "table",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/",
        "viewer",
        api=False,
    ),
    Case(
        "table",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/",
        "creator",
        body={"title": ""},
        api=False,
    ),
    Case(
        "grid_live_rows",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/grid/live?ids=1",
        "viewer",
        api=False,
    ),
    Case(
        "row_add",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/rows",
        "creator",
        api=False,
    ),
    Case(
        "row_delete",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/rows/{v['row']}/delete",
        "creator",
        victim=_victim_row,
        api=False,
    ),
    Case(
        "cell",
        "GET",
        lambda w, v: (
            f"/bases/{B(w, v)}/tables/{T(w)}/cells/1/{w.field('clients', 'name').pk}"
        ),
        "viewer",
        api=False,
    ),
    Case(
        "cell",
        "POST",
        lambda w, v: (
            f"/bases/{B(w, v)}/tables/{T(w)}/cells/1/{w.field('clients', 'name').pk}"
        ),
        "editor",
        body={"value": "Renamed"},
        api=False,
    ),
    Case(
        "grid_field_panel",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/grid/field-panel",
        "creator",
        api=False,
    ),
    Case(
        "grid_field_edit",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/grid/fields/{v['field'].pk}",
        "creator",
        body={"title": "renamed"},
        victim=_victim_field,
        api=False,
    ),
    Case(
        "field_delete",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/fields/{v['field'].pk}/delete",
        "creator",
        victim=_victim_field,
        api=False,
    ),
    Case(
        "webhooks",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/webhooks/",
        "creator",
        api=False,
    ),
    Case(
        "webhooks",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/webhooks/",
        "creator",
        body={"title": ""},
        api=False,
    ),
    Case(
        "webhook",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/webhooks/{v['hook'].pk}/",
        "creator",
        victim=_victim_hook,
        api=False,
    ),
    Case(
        "webhook_action",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/webhooks/{v['hook'].pk}/delete",
        "creator",
        victim=_victim_hook,
        api=False,
    ),
    Case(
        "webhook_row_send",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/rows/1/send",
        "creator",
        api=False,
    ),
    Case(
        "webhook_row_send",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/rows/1/send",
        "creator",
        victim=_victim_hook,
        vbody=lambda w, v: {"hook": v["hook"].pk},
        api=False,
    ),  # Public links (views/shares.py). Members who may read a view see its link; sharing
    # (enable, password, CSV, regenerate, revoke) needs views.share (creator).
    Case(
        "view_share",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/views/{v['view'].pk}/share",
        "viewer",
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_share",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/views/{v['view'].pk}/share",
        "creator",
        body={"action": "enable"},
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_share",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/views/{v['view'].pk}/share",
        "creator",
        body={"action": "regenerate"},
        victim=_victim_share,
        api=False,
    ),
    # Anyone with the link: the token is the credential (192 random bits). What a visitor
    # can and cannot reach is tested in tests/shares/test_shared_views.py.
    Case(
        "shared_view",
        "GET",
        lambda w, v: f"/s/{v['share'].token}/",
        "anyone",
        victim=_victim_share,
        api=False,
    ),
    Case(
        "shared_view_csv",
        "GET",
        lambda w, v: f"/s/{v['share'].token}/csv",
        "anyone",
        victim=_victim_share,
        api=False,
    ),
    # Thumbnails of a shared view's attachment cells: tests/shares/test_shared_attachments.py.
    Case(
        "shared_view_file",
        "GET",
        lambda w, v: f"/s/{v['share'].token}/files/{v['ref']}?thumb=1",
        "anyone",
        victim=_victim_shared_file,
        api=False,
    ),
    Case(
        "form_builder",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/views/{v['view'].pk}/form",
        "viewer",
        victim=_victim_form,
        api=False,
    ),
    Case(
        "form_builder",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/views/{v['view'].pk}/form",
        "creator",
        body={"title": "Renamed form", "after": "message"},
        victim=_victim_form,
        api=False,
    ),
    # A public form: anyone with the link may fill it (creating a row is its purpose; the
    # POST case sends no values, so no row). Limits, mass assignment, honeypot and the link
    # search's reach: tests/shares/test_forms.py.
    Case(
        "public_form",
        "GET",
        lambda w, v: f"/f/{v['share'].token}/",
        "anyone",
        victim=_victim_form,
        api=False,
    ),
    Case(
        "public_form_links",
        "GET",
        lambda w, v: f"/f/{v['share'].token}/links/{v['link'].pk}?q=a",
        "anyone",
        victim=_victim_form_link,
        api=False,
        write=False,
    ),  # Attachment cells: reading needs records.read (and the field visible), changing needs
    # records.update on the field. Finer checks: tests/shares/test_attachments.py.
    Case(
        "attachments",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/attachments/1/{v['field'].pk}",
        "viewer",
        victim=_victim_attachment,
        api=False,
    ),
    Case(
        "attachments",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/attachments/1/{v['field'].pk}",
        "editor",
        body=_upload,
        victim=_victim_attachment,
        api=False,
    ),
    Case(
        "attachment_file",
        "GET",
        lambda w, v: (
            f"/bases/{B(w, v)}/tables/{T(w)}/attachments/1/{v['field'].pk}/{v['file']}"
        ),
        "viewer",
        victim=_victim_attachment,
        api=False,
    ),
    Case(
        "attachment_delete",
        "POST",
        lambda w, v: (
            f"/bases/{B(w, v)}/tables/{T(w)}/attachments/1/{v['field'].pk}/{v['file']}/delete"
        ),
        "editor",
        victim=_victim_attachment,
        api=False,
    ),
    # Gallery, kanban and calendar views (views/view_pages.py): a kanban of clients by city.
    Case(
        "view_cards",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/views/{v['view'].pk}/cards?stack=Lisbon",
        "viewer",
        victim=_victim_kanban,
        api=False,
    ),
    Case(
        "view_move",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/views/{v['view'].pk}/move",
        "editor",
        body=lambda w: {"record": w.victim_row, "stack": "Berlin"},
        victim=_victim_kanban,
        api=False,
    ),
    Case(
        "view_add",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/views/{v['view'].pk}/add",
        "creator",
        body={"stack": "Lisbon", "title": "added"},
        victim=_victim_kanban,
        api=False,
    ),
    Case(
        "view_settings",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/views/{v['view'].pk}/settings",
        "creator",
        body={"collapse": "Lisbon"},
        victim=_victim_kanban,
        api=False,
    ),
]


# --- the grid, its toolbar, footer and view tabs (views/grid*.py, toolbar.py, summaries.py,
# view_tabs.py). Config writes act on a victim view so the default view stays as it is.
def G(w, v, rest=""):
    return f"/bases/{B(w, v)}/tables/{T(w)}/grid/{rest}"


def F(w, title, table="clients"):
    return w.field(table, title).pk


def VW(w, v, rest):
    return f"/bases/{B(w, v)}/views/{v['view'].pk}/{rest}"


def _filter_tree(w):
    import json

    return {
        "tree": json.dumps(
            {
                "type": "group",
                "logic": "and",
                "children": [
                    {
                        "type": "condition",
                        "field": F(w, "name"),
                        "op": "eq",
                        "value": f"x{_n()}",
                    }
                ],
            }
        ),
        "action": "",
    }


def _grouped_view(w, who):
    v = _victim_view(w, who)
    view = v["view"]
    view.options = {"group_by": [{"field": F(w, "city"), "desc": False}]}
    view.save()
    return v


GRID_CASES = [
    Case(
        "table_view",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/views/{v['view'].pk}/",
        "viewer",
        victim=_victim_view,
        api=False,
    ),
    Case(
        "table_view",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/views/{v['view'].pk}/",
        "creator",
        body=lambda w: {"title": f"added {_n()}", "uidt": "SingleLineText"},
        victim=_victim_view,
        api=False,
    ),
    Case("grid_rows", "GET", lambda w, v: G(w, v, "rows"), "viewer", api=False),
    Case("grid_count", "GET", lambda w, v: G(w, v, "count"), "viewer", api=False),
    Case(
        "grid_layout",
        "POST",
        lambda w, v: G(w, v, "layout"),
        "creator",
        vbody=lambda w, v: {"view": v["view"].pk, "row_height": "tall"},
        victim=_victim_view,
        api=False,
        fmt="json",
    ),
    Case(
        "grid_cells",
        "POST",
        lambda w, v: G(w, v, "cells"),
        "editor",
        body=lambda w: {
            "changes": [{"id": "1", "field": F(w, "name"), "value": f"Pasted {_n()}"}]
        },
        api=False,
        fmt="json",
    ),
    Case(
        "grid_rows_delete",
        "POST",
        lambda w, v: G(w, v, "delete"),
        "creator",
        vbody=lambda w, v: {"ids": [v["row"]]},
        victim=_victim_row,
        api=False,
        fmt="json",
    ),
    Case(
        "grid_row_expand",
        "GET",
        lambda w, v: G(w, v, "rows/1/expand"),
        "viewer",
        api=False,
    ),
    Case(
        "grid_row_expand",
        "POST",
        lambda w, v: G(w, v, "rows/1/expand"),
        "editor",
        body=lambda w: {f"f_{F(w, 'name')}": f"Expanded {_n()}"},
        api=False,
    ),
    Case(
        "grid_link_picker",
        "GET",
        lambda w, v: G(w, v, f"links/1/{F(w, 'projects')}"),
        "viewer",
        api=False,
    ),
    Case(
        "grid_link_picker",
        "POST",
        lambda w, v: G(w, v, f"links/1/{F(w, 'projects')}"),
        "editor",
        body={"action": "unlink", "target": "1"},
        api=False,
    ),
    Case(
        "grid_option_add",
        "POST",
        lambda w, v: G(w, v, f"options/{F(w, 'city')}"),
        "creator",
        body=lambda w: {"title": f"Town {_n()}"},
        api=False,
        fmt="json",
    ),
    Case(
        "view_new",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/views/new",
        "creator",
        body=lambda w: {"title": f"new view {_n()}", "type": "grid"},
        api=False,
    ),
    Case(
        "view_reorder",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/views/reorder",
        "creator",
        body=lambda w: {
            "order": list(
                w.table("clients").views.order_by("-order").values_list("pk", flat=True)
            )
        },
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_rename",
        "POST",
        lambda w, v: VW(w, v, "rename"),
        "creator",
        body=lambda w: {"title": f"renamed {_n()}"},
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_duplicate",
        "POST",
        lambda w, v: VW(w, v, "duplicate"),
        "creator",
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_delete",
        "POST",
        lambda w, v: VW(w, v, "delete"),
        "creator",
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_filters",
        "GET",
        lambda w, v: VW(w, v, "filters"),
        "viewer",
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_filters",
        "POST",
        lambda w, v: VW(w, v, "filters"),
        "creator",
        body=_filter_tree,
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_sorts",
        "GET",
        lambda w, v: VW(w, v, "sorts"),
        "viewer",
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_sorts",
        "POST",
        lambda w, v: VW(w, v, "sorts"),
        "creator",
        body=lambda w: {"field": F(w, "name"), "dir": "desc"},
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_group",
        "GET",
        lambda w, v: VW(w, v, "group"),
        "viewer",
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_group",
        "POST",
        lambda w, v: VW(w, v, "group"),
        "creator",
        body=lambda w: {"field": F(w, "city"), "dir": "asc"},
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_fields",
        "GET",
        lambda w, v: VW(w, v, "fields"),
        "viewer",
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_fields",
        "POST",
        lambda w, v: VW(w, v, "fields"),
        "creator",
        body=lambda w: {"show": [F(w, "name")]},
        victim=_victim_view,
        api=False,
    ),
    Case(
        "table_import",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/import",
        "editor",
        api=False,
    ),
    Case(
        "table_import",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/import",
        "editor",
        api=False,
    ),
    Case(
        "import_job",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/import/{v['job'].pk}",
        "editor",
        victim=_victim_import,
        api=False,
    ),
    Case(
        "import_job_cancel",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/import/{v['job'].pk}/cancel",
        "editor",
        victim=_victim_import,
        api=False,
    ),
    Case(
        "import_job_refused",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/import/{v['job'].pk}/refused.csv",
        "editor",
        victim=_victim_import,
        api=False,
    ),
    Case(
        "import_job",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/import/{v['job'].pk}",
        "creator",
        victim=_victim_import,
        vbody=lambda w, v: {"col-0": v["job"].mapping["0"]},
        api=False,
    ),
    Case(
        "base_import",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/import",
        "creator",
        api=False,
    ),
    Case(
        "base_import",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/import",
        "creator",
        api=False,
    ),
    Case(
        "base_import_job",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/import/{v['job'].pk}",
        "creator",
        victim=_victim_new_table_import,
        api=False,
    ),
    Case(
        "base_import_job",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/import/{v['job'].pk}",
        "creator",
        victim=_victim_new_table_import,
        vbody=lambda w, v: {"table_title": f"page {_n()}", "type-0": "text"},
        api=False,
    ),
    Case(
        "base_import_job_cancel",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/import/{v['job'].pk}/cancel",
        "creator",
        victim=_victim_new_table_import,
        api=False,
    ),
    Case(
        "table_trash",
        "GET",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/trash",
        "creator",
        api=False,
    ),
    Case(
        "table_trash",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/trash",
        "creator",
        victim=_victim_deleted,
        vbody=lambda w, v: {"ids": [v["entry"]]},
        api=False,
    ),
    Case(
        "table_trash_restore",
        "POST",
        lambda w, v: f"/bases/{B(w, v)}/tables/{T(w)}/trash/restore",
        "creator",
        victim=_victim_deleted,
        vbody=lambda w, v: {"records": [v["record"]]},
        api=False,
        fmt="json",
    ),
    Case(
        "view_export",
        "GET",
        lambda w, v: VW(w, v, "export") + "?format=csv",
        "viewer",
        victim=_victim_view,
        api=False,
    ),
    # A large view's export job: only the member who started it sees it (others: 404,
    # tests/views/test_export_jobs.py); each caller here acts on their own job.
    Case(
        "view_export_job",
        "GET",
        lambda w, v: VW(w, v, f"export/{v['job'].pk}"),
        "viewer",
        victim=_victim_export,
        api=False,
    ),
    Case(
        "view_export_job_file",
        "GET",
        lambda w, v: VW(w, v, f"export/{v['job'].pk}/file"),
        "viewer",
        victim=_victim_export,
        api=False,
    ),
    Case(
        "view_export_job_cancel",
        "POST",
        lambda w, v: VW(w, v, f"export/{v['job'].pk}/cancel"),
        "viewer",
        victim=_victim_export,
        api=False,
    ),
    Case(
        "view_footer",
        "GET",
        lambda w, v: VW(w, v, "footer"),
        "viewer",
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_footer",
        "POST",
        lambda w, v: VW(w, v, "footer"),
        "creator",
        body=lambda w: {"summary": f"{F(w, 'name')}:filled"},
        victim=_victim_view,
        api=False,
    ),
    Case(
        "view_groups",
        "GET",
        lambda w, v: VW(w, v, "groups"),
        "viewer",
        victim=_grouped_view,
        api=False,
    ),
    Case(
        "view_group_rows",
        "GET",
        lambda w, v: VW(w, v, "groups/rows"),
        "viewer",
        victim=_grouped_view,
        api=False,
    ),
]
CASES += GRID_CASES

# Endpoints outside the matrix, each with the reason.
SKIPPED = {
    "public_form POST": "anyone may submit (that is a form's point): tests/shares/test_forms.py",
    "login": "public: the login form",
    "logout": "ends the session; nothing to protect",
    "signup": "public: account creation (off with NOCO_SIGNUP_ENABLED=false)",
    "oidc_login": "public: starts a sign-in with an OpenID Connect provider (404 for one "
    "not configured): tests/permissions/test_oidc.py",
    "oidc_callback": "public: the provider's answer, checked by state, PKCE and nonce: "
    "tests/permissions/test_oidc.py",
    "invite_accept POST": "accepting needs the invited email: tests/permissions/test_members.py",
}


def _invite(w):
    from permissions.models import hash_token

    Invite.objects.create(
        base=w.base,
        email="new@example.com",
        role="viewer",
        token_hash=hash_token("tok-" + str(_n())),
        invited_by=w.users["owner"],
    )
    return {"token": "tok-" + str(_counter[0])}


def _patterns(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if str(p.pattern) == "admin/":
                continue  # Django's admin: staff only, not part of the product's surface
            yield from _patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield p.name or (prefix + str(p.pattern))


def test_every_endpoint_is_classified():
    known = {c.name for c in CASES} | {k.split()[0] for k in SKIPPED}
    missing = sorted(set(_patterns(get_resolver().url_patterns)) - known)
    assert not missing, f"Add these endpoints to the permission matrix: {missing}"


CALLERS = (
    [f"session:{r}" for r in ROLES]
    + [f"token:{r}" for r in ROLES]
    + ["session:outsider", "token:outsider", "token:readonly", "anonymous"]
    # Bearer JWTs of an external identity provider (permissions/jwt_auth.py): the same
    # checks as the user's session, but no pages and no API-token management.
    + ["jwt:editor", "jwt:viewer", "jwt:outsider"]
)


def expected(case: Case, caller: str) -> str:
    kind, _, who = caller.partition(":")
    if case.need == "anyone":
        return "allow"
    if kind == "anonymous" or (kind in ("token", "jwt") and not case.api):
        return "login"
    if case.need in ("user", "session"):
        if kind in ("token", "jwt") and case.need == "session":
            return "forbidden"
        if who == "readonly" and case.writes:
            return "forbidden"
        return "allow"
    role = "owner" if who == "readonly" else who
    if role == "outsider":
        return "notfound"
    if RANK[role] < RANK[case.need]:
        return "forbidden"
    if who == "readonly" and case.writes:
        return "forbidden"
    return "allow"


def _client(w, caller: str, idp=None):
    kind, _, who = caller.partition(":")
    if kind == "anonymous":
        return APIClient(), None
    if kind == "jwt":
        user = w.users[who]
        ExternalIdentity.objects.create(issuer=idp.issuer, subject=who, user=user)
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {idp.token(sub=who)}")
        return c, user
    if kind == "token":
        user = w.users["owner" if who == "readonly" else who]
        return token_client(w.tokens[who]), user
    return session_client(w.users[who]), w.users[who]


def _send(client, case: Case, path: str, w, victim=None):
    method = getattr(client, case.method.lower())
    body = case.body(w) if callable(case.body) else case.body
    if case.vbody is not None:
        body = case.vbody(w, victim)
    if case.api:
        return method(path, body, format="json") if body is not None else method(path)
    if case.fmt == "json":
        return method(path, body or {}, format="json")
    return method(path, body or {})


def _check(outcome: str, case: Case, response) -> bool:
    status = response.status_code
    if status >= 500:
        return False
    if outcome == "allow":
        if case.api:
            return status not in (401, 403, 404)
        return status not in (403, 404) and not (
            status == 302 and "/login/" in response.get("Location", "")
        )
    if outcome == "login":
        if case.api:
            return status == 401
        return status == 302 and "/login/" in response["Location"]
    if outcome == "notfound":
        return status == 404
    return status == 403


@pytest.fixture
def jwt_idp(caller, settings):
    """A fake identity provider (tests/idp.py) trusted for the jwt:* callers."""
    if not caller.startswith("jwt:"):
        yield None
        return
    from permissions import jwt_auth
    from tests.idp import FakeIdP

    idp = FakeIdP()
    jwt_auth.forget_keys()
    settings.NOCO_JWT_ISSUERS = [
        {
            "issuer": idp.issuer,
            "audience": "noco-api",
            "jwks_url": idp.url + "/jwks",
            "create_users": False,
        }
    ]
    yield idp
    idp.close()
    jwt_auth.forget_keys()


@pytest.mark.parametrize("caller", CALLERS)
def test_permission_matrix(world, caller, jwt_idp):
    w = world
    failures = []
    baseline = snapshot(w.base)
    # One client per caller: each new test client builds its own middleware (whitenoise's
    # file index alone costs ~1.5 s).
    client, acting = _client(w, caller, jwt_idp)
    for case in CASES:
        if (
            not case.api
            and caller.split(":")[0] in ("token", "jwt")
            and (caller != "token:owner")
        ):
            continue  # one token is enough to show tokens do not log in to pages
        victim = case.victim(w, acting) if case.victim else {}
        if victim:
            baseline = snapshot(w.base)
        path = case.path(w, victim)
        outcome = expected(case, caller)
        response = _send(client, case, path, w, victim)
        label = f"{case.method} {path} as {caller}: expected {outcome}, got {response.status_code}"
        if not _check(outcome, case, response):
            failures.append(label + f" {response.content[:200]!r}")
            baseline = snapshot(w.base)
            continue
        if outcome != "allow" and case.method != "GET":
            after = snapshot(w.base)
            if after != baseline:
                failures.append(
                    label + " — and the refused request changed the database"
                )
            baseline = after
        else:
            baseline = snapshot(w.base)  # an allowed request may change things
    assert not failures, "\n".join(failures)
