"""The query layer: the only place that writes SQL for user tables (docs/query.md).

where/ (nodes, parse, render, values, compile) → select.py / dml.py statements, with every
database difference asked of dialects/ (one class per database) and keyset paging in
cursors.py. Callers pass where nodes (Condition, KeysIn, After, LinkedTo), never SQL."""
