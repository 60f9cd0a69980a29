"""records.meta_events: after commit, once per table or base and transaction, never on rollback."""

from __future__ import annotations

import pytest
from django.db import transaction

from records import meta_events

pytestmark = pytest.mark.django_db(transaction=True)


class Undo(Exception):
    pass


@pytest.fixture
def heard():
    out = []
    meta_events.subscribe(
        "test",
        schema=lambda table_id: out.append(("schema", table_id)),
        access=lambda base_id: out.append(("access", base_id)),
    )
    yield out
    meta_events.unsubscribe("test")


def test_outside_a_transaction_subscribers_hear_at_once(heard):
    meta_events.schema_changed("t1")
    meta_events.access_changed("b1")
    assert heard == [("schema", "t1"), ("access", "b1")]


def test_one_transaction_is_heard_once_per_target_after_commit(heard):
    with transaction.atomic():
        for _ in range(3):
            meta_events.schema_changed("t1")
            meta_events.schema_changed("t2")
            meta_events.access_changed("b1")
        assert heard == []
    assert heard == [("schema", "t1"), ("schema", "t2"), ("access", "b1")]
    heard.clear()
    with transaction.atomic():  # the next transaction is heard again
        meta_events.schema_changed("t1")
    assert heard == [("schema", "t1")]


def test_a_rolled_back_transaction_is_never_heard_and_forgets_its_targets(heard):
    with pytest.raises(Undo), transaction.atomic():
        meta_events.schema_changed("t1")
        raise Undo
    assert heard == []
    with transaction.atomic():
        meta_events.schema_changed("t1")
    assert heard == [("schema", "t1")]


def test_a_rolled_back_savepoint_takes_its_announcement_with_it(heard):
    with transaction.atomic():
        with pytest.raises(Undo), transaction.atomic():
            meta_events.schema_changed("t1")
            raise Undo
        meta_events.schema_changed("t1")  # scheduled again, in the outer transaction
    assert heard == [("schema", "t1")]


def test_empty_targets_and_failing_subscribers(heard, caplog):
    meta_events.schema_changed(None)
    meta_events.access_changed("")
    assert heard == []
    meta_events.subscribe("broken", schema=lambda table_id: {}[table_id])
    try:
        meta_events.schema_changed("t1")
    finally:
        meta_events.unsubscribe("broken")
    assert heard == [("schema", "t1")]
    assert "broken failed on schema t1" in caplog.text


def test_on_commit_once_keys_are_per_transaction():
    ran = []
    with transaction.atomic():
        meta_events.on_commit_once(("k",), lambda: ran.append(1))
        meta_events.on_commit_once(("k",), lambda: ran.append(2))
        meta_events.on_commit_once(("other",), lambda: ran.append(3))
    assert ran == [1, 3]
    meta_events.on_commit_once(("k",), lambda: ran.append(4))  # autocommit: at once
    assert ran == [1, 3, 4]
