"""The hub's coalescing of a table's writes under load (views/realtime/hub.py `coalesce`)."""

from __future__ import annotations

from views.realtime.broadcast import MAX_IDS
from views.realtime.hub import coalesce


def rows(event, ids, fields=("f1",), origin="", many=False):
    return {
        "type": "table.rows",
        "event": event,
        "table": "t",
        "ids": list(ids),
        "many": many,
        "fields": list(fields),
        "origin": origin,
        "group": "table.t",
    }


def test_consecutive_writes_of_one_kind_and_fields_become_one_message():
    first, second = rows("rows.updated", ["1", "2"]), rows("rows.updated", ["2", "3"])
    (merged,) = coalesce([first, second])
    assert merged["ids"] == ["1", "2", "3"] and merged["many"] is False
    assert first["ids"] == ["1", "2"]  # the messages themselves are left alone


def test_different_fields_origins_or_kinds_stay_apart_and_in_order():
    batch = [
        rows("rows.updated", ["1"], fields=["visible"]),
        rows(
            "rows.updated", ["2"], fields=["hidden"]
        ),  # would leak row 2 to who can't see
        rows("rows.updated", ["3"], fields=["hidden"], origin="tab"),
        rows("rows.inserted", ["4"]),
        {"type": "table.notice", "event": "schema.changed", "group": "table.t"},
        rows("rows.inserted", ["5"]),
    ]
    out = coalesce(batch)
    assert [(m["type"], m.get("ids")) for m in out] == [
        ("table.rows", ["1"]),
        ("table.rows", ["2"]),
        ("table.rows", ["3"]),
        ("table.rows", ["4"]),
        ("table.notice", None),
        ("table.rows", ["5"]),
    ]


def test_past_max_ids_the_merged_message_says_many():
    half = MAX_IDS // 2 + 1
    a = rows("rows.deleted", [str(i) for i in range(half)])
    b = rows("rows.deleted", [str(i) for i in range(half, 2 * half)])
    (merged,) = coalesce([a, b])
    assert merged["many"] is True and merged["ids"] == []
    (merged,) = coalesce(
        [rows("rows.deleted", [], many=True), rows("rows.deleted", ["9"])]
    )
    assert merged["many"] is True and merged["ids"] == []
