"""The query layer: the records API's request (where, sort, fields, cursor) parsed into a small AST,
validated against the table's fields, and compiled per dialect. Nothing else builds SQL for user
tables."""
