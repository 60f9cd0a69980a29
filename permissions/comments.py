"""Row comments: a thread per record. Services and selectors in one small module.

Commenters and up add comments; authors edit and delete their own; owners delete any. Reading a
thread needs read access to the table (a table that is 404 for the actor hides its comments).
Text is stored as typed and escaped wherever it is rendered (Django templates autoescape; the
JSON API returns it as data).
"""

from __future__ import annotations

from django.db.models import Count
from django.utils import timezone

from bases.models import Table
from nocoplatform.errors import Forbidden, InvalidInput, NotFound
from permissions.checks import Actor, can, require
from permissions.models import Comment

MAX_LENGTH = 10_000


def _clean_text(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("A comment needs some text.", code="INVALID_COMMENT")
    if len(text) > MAX_LENGTH:
        raise InvalidInput(
            f"A comment is at most {MAX_LENGTH} characters.", code="INVALID_COMMENT"
        )
    return text.strip()


def comment_counts(*, table: Table, record_ids) -> dict[str, int]:
    """{record id: number of comments} for a page of rows, in one query."""
    ids = [str(r) for r in record_ids if r is not None]
    if not ids:
        return {}
    return dict(
        Comment.objects.filter(table=table, record_id__in=ids)
        .values("record_id")
        .annotate(n=Count("id"))
        .values_list("record_id", "n")
    )


def comment_list(*, actor: Actor, table: Table, record_id) -> list[Comment]:
    require(actor, "records.read", table)
    return list(
        Comment.objects.filter(table=table, record_id=str(record_id)).select_related(
            "author"
        )
    )


def comment_create(*, actor: Actor, table: Table, record_id, text) -> Comment:
    require(actor, "comments.create", table)
    text = _clean_text(text)
    from bases.records import get_record

    # The row must exist (and be readable by the actor): no comments on ids made up.
    get_record(table, record_id, {"fields": ""}, actor=actor)
    return Comment.objects.create(
        base_id=table.base_id,
        table=table,
        record_id=str(record_id),
        author=actor.user,
        text=text,
    )


def comment_get(*, actor: Actor, comment_id) -> Comment:
    """A comment whose table the actor can read; 404 otherwise (like a missing one)."""
    comment = (
        Comment.objects.select_related("table__base", "table__source", "author")
        .filter(pk=comment_id)
        .first()
        if str(comment_id).isdigit()
        else None
    )
    if comment is None or not can(actor, "records.read", comment.table):
        raise NotFound("Comment not found.", code="COMMENT_NOT_FOUND")
    return comment


def comment_update(*, actor: Actor, comment: Comment, text) -> Comment:
    require(actor, "comments.create", comment.table)
    if comment.author_id != actor.user.pk:
        raise Forbidden("Only its author edits a comment.", code="NOT_COMMENT_AUTHOR")
    comment.text = _clean_text(text)
    comment.edited_at = timezone.now()
    comment.save(update_fields=["text", "edited_at"])
    return comment


def comment_delete(*, actor: Actor, comment: Comment) -> None:
    own = comment.author_id is not None and comment.author_id == getattr(
        actor.user, "pk", None
    )
    if own:
        require(actor, "comments.create", comment.table)
    else:
        require(actor, "comments.moderate", comment.table)
    comment.delete()


def can_moderate(actor: Actor, table: Table) -> bool:
    return can(actor, "comments.moderate", table)
