"""SQL for user tables has one home: bases/query/ (docs/query.md).

A static scan of the apps' source: no string outside the query layer reads like a SELECT,
INSERT, UPDATE or DELETE statement, and no module that reads or writes user rows asks which
database it talks to (the dialect classes answer that). The few modules that query catalogs or
the meta database are listed with their reason; the lists may only shrink.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
APPS = ("bases", "views", "history", "webhooks", "permissions", "records")
HOME = ("bases/query/", "bases/connections/")

# Statements these modules run are not over user tables.
NOT_USER_TABLES = {
    "bases/schema.py": "reads SQLite's catalog of indexes around a table rebuild",
    "bases/metacache.py": "meta database: data source versions and roles",
    "history/services.py": "meta database: the history table (RecordChange)",
    "permissions/auth.py": "meta database: memberships and roles",
    "permissions/authcache.py": "meta database: the auth cache's notify channel",
}

# Modules that still ask for a connection's vendor, and why that is not about user rows.
VENDOR_CHECKS_ALLOWED = {
    # A file or a package: bases/fieldtypes.py may become bases/fieldtypes/.
    "bases/fieldtypes": "column DDL types (the field types own them)",
    "history/services.py": "meta database: COPY on PostgreSQL",
    "permissions/auth.py": "meta database",
    "permissions/authcache.py": "meta database: LISTEN/NOTIFY",
}

_STATEMENT = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\S+\s+SET\b|\bDELETE\s+FROM\b"
)


def _listed(rel: str, exceptions: dict) -> bool:
    return any(
        rel in (key, f"{key}.py") or rel.startswith(f"{key}/") for key in exceptions
    )


def _sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel or rel.startswith(HOME):
                continue
            yield rel, ast.parse(path.read_text(), rel)


def _docstrings(tree) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
            ):
                out.add(id(body[0].value))
    return out


def _texts(tree):
    """Every string literal but docstrings; an f-string with `{}` for its fields."""
    docs = _docstrings(tree)
    inside_fstring = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inside_fstring.add(id(value))
                if isinstance(value, ast.Constant):
                    parts.append(str(value.value))
                else:
                    parts.append("{}")
            yield node.lineno, "".join(parts)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docs
            and id(node) not in inside_fstring
        ):
            yield node.lineno, node.value


def test_no_sql_statements_outside_the_query_layer():
    found = [
        f"{rel}:{line}: {text.strip()[:80]!r}"
        for rel, tree in _sources()
        if not _listed(rel, NOT_USER_TABLES)
        for line, text in _texts(tree)
        if _STATEMENT.search(text)
    ]
    assert found == [], "SQL text outside bases/query/:\n" + "\n".join(found)


def _vendor_checks(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(
                isinstance(s, ast.Attribute) and s.attr == "vendor" for s in sides
            ) or any(isinstance(s, ast.Name) and s.id == "vendor" for s in sides):
                yield node.lineno


def test_no_vendor_checks_outside_the_dialects():
    found = [
        f"{rel}:{line}"
        for rel, tree in _sources()
        if not _listed(rel, VENDOR_CHECKS_ALLOWED)
        for line in _vendor_checks(tree)
    ]
    assert found == [], "vendor checks outside bases/query/dialects:\n" + "\n".join(
        found
    )


@pytest.mark.parametrize("rel", sorted({*NOT_USER_TABLES, *VENDOR_CHECKS_ALLOWED}))
def test_the_exceptions_still_exist(rel):
    # A module that was split or moved leaves its entry behind: drop it from the lists.
    assert (ROOT / rel).exists() or (ROOT / f"{rel}.py").exists()


def test_list_records_takes_where_nodes_not_sql():
    from bases.records import list_records

    params = inspect.signature(list_records).parameters
    assert "extra" not in params
    assert "where" in params
