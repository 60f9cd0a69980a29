"""Row comments: who may add, edit and delete; escaping; the badge count in one query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from permissions.checks import Actor
from permissions.comments import comment_counts
from permissions.models import Comment
from permissions.services import table_role_set
from tests.permissions.conftest import session_client, token_client

pytestmark = pytest.mark.django_db


def thread(w, record="1", table="clients"):
    return f"/api/v2/tables/{w.table(table).pk}/records/{record}/comments"


def test_commenters_and_up_comment_viewers_read(world):
    w = world
    for who in ("owner", "creator", "editor", "commenter"):
        r = token_client(w.tokens[who]).post(
            thread(w), {"comment": f"from {who}"}, format="json"
        )
        assert r.status_code == 201, (who, r.content)
    r = token_client(w.tokens["viewer"]).post(
        thread(w), {"comment": "nope"}, format="json"
    )
    assert r.status_code == 403
    r = token_client(w.tokens["readonly"]).post(
        thread(w), {"comment": "nope"}, format="json"
    )
    assert r.status_code == 403
    listed = token_client(w.tokens["viewer"]).get(thread(w)).json()["list"]
    assert [c["comment"] for c in listed] == [
        f"from {x}" for x in ("owner", "creator", "editor", "commenter")
    ]
    assert (
        listed[0]["created_by_email"] == "owner@example.com" and listed[0]["created_at"]
    )
    assert token_client(w.tokens["outsider"]).get(thread(w)).status_code == 404


def test_comments_need_an_existing_row_and_text(world):
    w = world
    c = token_client(w.tokens["commenter"])
    assert (
        c.post(thread(w, record="999999"), {"comment": "x"}, format="json").status_code
        == 404
    )
    r = c.post(thread(w), {"comment": "   "}, format="json")
    assert r.status_code == 400 and r.json()["error"] == "INVALID_COMMENT"
    assert not Comment.objects.exists()


def test_authors_edit_and_delete_their_own_owners_delete_any(world):
    w = world
    mine = (
        token_client(w.tokens["commenter"])
        .post(thread(w), {"comment": "typo"}, format="json")
        .json()
    )
    url = f"/api/v2/meta/comments/{mine['id']}"
    editor = token_client(w.tokens["editor"])
    assert editor.patch(url, {"comment": "hijack"}, format="json").status_code == 403
    assert editor.delete(url).status_code == 403
    creator = token_client(w.tokens["creator"])
    assert creator.delete(url).status_code == 403
    r = token_client(w.tokens["commenter"]).patch(
        url, {"comment": "fixed"}, format="json"
    )
    assert (
        r.status_code == 200
        and r.json()["comment"] == "fixed"
        and r.json()["updated_at"]
    )
    assert (
        token_client(w.tokens["owner"])
        .patch(url, {"comment": "owner edit"}, format="json")
        .status_code
        == 403
    )
    assert token_client(w.tokens["owner"]).delete(url).status_code == 200
    assert not Comment.objects.exists()
    again = (
        token_client(w.tokens["commenter"])
        .post(thread(w), {"comment": "mine"}, format="json")
        .json()
    )
    assert (
        token_client(w.tokens["commenter"])
        .delete(f"/api/v2/meta/comments/{again['id']}")
        .status_code
        == 200
    )


def test_comments_of_a_hidden_table_are_404(world):
    w = world
    c = Comment.objects.create(
        base=w.base,
        table=w.table("clients"),
        record_id="1",
        author=w.users["owner"],
        text="secret",
    )
    table_role_set(
        actor=Actor(user=w.users["owner"]),
        table=w.table("clients"),
        user_id=w.users["editor"].pk,
        role="none",
    )
    editor = token_client(w.tokens["editor"])
    assert editor.get(thread(w)).status_code == 404
    assert (
        editor.patch(
            f"/api/v2/meta/comments/{c.pk}", {"comment": "x"}, format="json"
        ).status_code
        == 404
    )
    assert editor.delete(f"/api/v2/meta/comments/{c.pk}").status_code == 404


def test_comment_text_is_escaped_in_the_partial_and_the_table_page_has_badges(world):
    w = world
    t = w.table("clients")
    web = session_client(w.users["commenter"])
    url = f"/bases/{w.base.pk}/tables/{t.pk}/rows/1/comments"
    r = web.post(url, {"text": "<script>alert(1)</script> & co"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    web.post(url, {"text": "second"})
    page = web.get(f"/bases/{w.base.pk}/tables/{t.pk}/").content.decode()
    assert 'aria-label="Comments on row 1"' in page
    first_row = page.split('aria-label="Comments on row 1"')[1][:80]
    assert '<span class="comment-count badge">2</span>' in first_row
    # Typed text stays when refused for being empty.
    r = web.post(url, {"text": "   "})
    assert r.status_code == 200 and b"A comment needs some text." in r.content
    # A viewer sees the thread but no form; a hand-made POST is 403.
    viewer = session_client(w.users["viewer"])
    seen = viewer.get(url).content.decode()
    assert "second" in seen and "<textarea" not in seen
    assert viewer.post(url, {"text": "x"}).status_code == 403
    assert Comment.objects.count() == 2


def test_badge_counts_are_one_query_for_a_page(world):
    w = world
    t = w.table("clients")
    for i in range(1, 6):
        for _ in range(i):
            Comment.objects.create(
                base=w.base,
                table=t,
                record_id=str(i),
                author=w.users["owner"],
                text="x",
            )
    with CaptureQueriesContext(connection) as ctx:
        counts = comment_counts(table=t, record_ids=list(range(1, 51)))
    assert len(ctx.captured_queries) == 1
    assert counts == {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}


def test_authors_edit_their_comment_in_the_partial(world):
    w = world
    t = w.table("clients")
    web = session_client(w.users["commenter"])
    web.post(f"/bases/{w.base.pk}/tables/{t.pk}/rows/1/comments", {"text": "frist"})
    comment = Comment.objects.get()
    thread_html = web.get(
        f"/bases/{w.base.pk}/tables/{t.pk}/rows/1/comments"
    ).content.decode()
    assert f"/comments/{comment.pk}/edit" in thread_html
    r = web.post(f"/comments/{comment.pk}/edit", {"text": "first <i>really</i>"})
    assert (
        r.status_code == 200 and "first &lt;i&gt;really&lt;/i&gt;" in r.content.decode()
    )
    comment.refresh_from_db()
    assert comment.text == "first <i>really</i>" and comment.edited_at
    # Someone else sees no edit control and cannot edit by hand.
    other = session_client(w.users["editor"])
    assert (
        f"/comments/{comment.pk}/edit"
        not in other.get(
            f"/bases/{w.base.pk}/tables/{t.pk}/rows/1/comments"
        ).content.decode()
    )
    assert other.post(f"/comments/{comment.pk}/edit", {"text": "x"}).status_code == 403
    comment.refresh_from_db()
    assert comment.text == "first <i>really</i>"
