"""A formula error a person can act on: what is wrong, and where in the text."""

from __future__ import annotations

from nocoplatform.errors import InvalidInput


class FormulaError(InvalidInput):
    """Raised at save time (never while listing rows); `position` is a 0-based character index."""

    code = "INVALID_FORMULA"

    def __init__(self, message: str, position: int | None = None, *, code: str = ""):
        where = "" if position is None else f" (at character {position + 1})"
        super().__init__(
            f"{message}{where}",
            code=code or None,
            details={} if position is None else {"position": position},
        )
        self.position = position
        self.text = message  # without the position, for wrapping in another message
