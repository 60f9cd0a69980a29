"""One class per database that owns the SQL text differing between them (docs/query.md)."""

from __future__ import annotations

from bases.query.dialects.base import Dialect
from bases.query.dialects.mysql import MySQLDialect
from bases.query.dialects.postgres import PostgresDialect
from bases.query.dialects.sqlite import SQLiteDialect

DIALECTS: dict[str, type[Dialect]] = {
    "postgresql": PostgresDialect,
    "mysql": MySQLDialect,
    "sqlite": SQLiteDialect,
}


def dialect_for(connection_or_vendor) -> Dialect:
    """The dialect of a user-database connection, or of a vendor name ("postgresql", "mysql",
    "sqlite") when only SQL text is wanted (no RETURNING check, no statements run)."""
    if isinstance(connection_or_vendor, str):
        vendor, conn = connection_or_vendor, None
    else:
        vendor, conn = connection_or_vendor.vendor, connection_or_vendor
    try:
        cls = DIALECTS[vendor]
    except KeyError:
        raise ValueError(f"unsupported vendor {vendor!r}") from None
    return cls(conn)
