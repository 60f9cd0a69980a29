"""Case-insensitive `%` wildcard matching for SQLite, in linear time.

SQLite's own LIKE folds ASCII letters only, so the `like` operator needs a function of ours
there. A regular expression (`.*` between the parts) backtracks: `%a%a%a%a%b` against a long
run of `a`s took 40 s and held the server. Here each part is found once, left to right, after
the previous one: the leftmost place of each part is always the right one when `%` is the only
wildcard, so nothing is ever tried twice.
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=512)
def _parts(pattern: str) -> tuple[str, ...]:
    return tuple(part.lower() for part in pattern.split("%"))


def like(value, pattern) -> int | None:
    """SQL `value LIKE pattern` where `%` is any run of characters, case folded (1, 0, NULL)."""
    if value is None or pattern is None:
        return None
    parts = _parts(str(pattern))
    text = str(value).lower()
    if len(parts) == 1:
        return int(text == parts[0])
    first, *middle, last = parts
    end = len(text) - len(last)
    if end < len(first) or not text.startswith(first) or not text.endswith(last):
        return 0
    pos = len(first)
    for part in middle:
        if part:
            found = text.find(part, pos, end)
            if found < 0:
                return 0
            pos = found + len(part)
    return 1


def register(connection) -> None:
    """Give a new sqlite3 connection the functions the query layer calls."""
    connection.create_function("noco_like", 2, like, deterministic=True)
