"""Telling "cannot reach the database" from other errors, and saying why."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import OperationalError as DjangoOperationalError

from nocoplatform.errors import DatabaseUnavailable


@contextmanager
def unavailable_as_503(title: str):
    """Turn "cannot reach the database" into a 503 for that base only."""
    try:
        yield
    except DjangoOperationalError as exc:
        if is_connection_failure(exc):
            raise DatabaseUnavailable(
                f"The database of '{title}' cannot be reached right now: {describe(exc)}",
            ) from exc
        raise


def is_connection_failure(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc
    name = type(cause).__name__
    if name in {"PoolTimeout", "ConnectionTimeout"}:
        return True
    code = mysql_error_code(cause)
    if code in {2002, 2003, 2005, 2006, 2013, 1045, 1049}:
        return True
    text = str(cause).lower()
    markers = (
        "connection refused",
        "could not connect",
        "could not translate host",
        "connection timeout",
        "timeout expired",
        "server closed the connection",
        "couldn't get a connection",
        "password authentication failed",
        "does not exist",
        "unable to open database file",
        "terminating connection",
    )
    return (
        any(m in text for m in markers)
        and "relation" not in text
        and "column" not in text
    )


def describe(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    text = (
        str(cause).strip().splitlines()[0]
        if str(cause).strip()
        else type(cause).__name__
    )
    return text[:300]


def mysql_error_code(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None
