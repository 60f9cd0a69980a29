"""Formula text → syntax tree (precedence climbing; spreadsheet precedence).

Lowest to highest: `||`, `&&`, comparisons (`= == != <> < <= > >=`), `&` (join text), `+ -`,
`* /`, unary `- +`. `TRUE`/`FALSE` may be written with or without parentheses.
"""

from __future__ import annotations

from bases.formula import ast
from bases.formula.errors import FormulaError
from bases.formula.lexer import Token, tokenize

MAX_DEPTH = 64
MAX_NODES = 2_000

_LEVELS = [
    ("||",),
    ("&&",),
    ("=", "==", "!=", "<>", "<", "<=", ">", ">="),
    ("&",),
    ("+", "-"),
    ("*", "/"),
]


def parse(text: str) -> ast.Node:
    """The syntax tree of `text`, or a FormulaError naming the first problem and where it is."""
    parser = _Parser(tokenize(text))
    if parser.peek.kind == "END":
        raise FormulaError("The formula is empty.", 0, code="FORMULA_SYNTAX")
    node = parser.expression(0, 0)
    token = parser.peek
    if token.kind != "END":
        raise FormulaError(
            f"Unexpected {_describe(token)}: is an operator or a comma missing?",
            token.pos,
            code="FORMULA_SYNTAX",
        )
    return node


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.index = 0
        self.nodes = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def node(self, node: ast.Node) -> ast.Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise FormulaError(
                f"The formula is too long (more than {MAX_NODES} parts).",
                node.pos,
                code="FORMULA_TOO_LONG",
            )
        return node

    def expression(self, level: int, depth: int) -> ast.Node:
        if depth > MAX_DEPTH:
            raise FormulaError(
                f"The formula nests more than {MAX_DEPTH} levels deep.",
                self.peek.pos,
                code="FORMULA_TOO_LONG",
            )
        if level == len(_LEVELS):
            return self.unary(depth)
        left = self.expression(level + 1, depth + 1)
        while self.peek.kind == "OP" and self.peek.text in _LEVELS[level]:
            op = self.advance()
            right = self.expression(level + 1, depth + 1)
            left = self.node(
                ast.Binary(op.pos, op=_canonical(op.text), left=left, right=right)
            )
        return left

    def unary(self, depth: int) -> ast.Node:
        token = self.peek
        if token.kind == "OP" and token.text in ("-", "+"):
            self.advance()
            operand = self.unary(depth + 1)
            if depth > MAX_DEPTH:
                raise FormulaError(
                    "The formula nests too deep.", token.pos, code="FORMULA_TOO_LONG"
                )
            return self.node(ast.Unary(token.pos, op=token.text, operand=operand))
        return self.primary(depth)

    def primary(self, depth: int) -> ast.Node:
        token = self.advance()
        if token.kind == "NUMBER":
            return self.node(ast.Number(token.pos, text=token.text))
        if token.kind == "STRING":
            return self.node(ast.String(token.pos, value=token.text))
        if token.kind == "FIELD":
            return self.node(ast.FieldRef(token.pos, title=token.text))
        if token.kind == "LPAREN":
            inner = self.expression(0, depth + 1)
            self.expect("RPAREN", "Missing ) to close the ( opened", token.pos)
            return inner
        if token.kind == "NAME":
            if self.peek.kind == "LPAREN":
                return self.call(token, depth)
            if token.text in ("TRUE", "FALSE"):
                return self.node(ast.Boolean(token.pos, value=token.text == "TRUE"))
            raise FormulaError(
                f"Unknown name {token.text}: write a field as {{{token.text.title()}}}, "
                "text in quotes, or a function with parentheses.",
                token.pos,
                code="FORMULA_SYNTAX",
            )
        if token.kind == "END":
            raise FormulaError(
                "The formula ends too early: a value is missing.",
                token.pos,
                code="FORMULA_SYNTAX",
            )
        raise FormulaError(
            f"Unexpected {_describe(token)}: a value is missing before it.",
            token.pos,
            code="FORMULA_SYNTAX",
        )

    def call(self, name: Token, depth: int) -> ast.Node:
        opening = self.advance()
        args: list[ast.Node] = []
        if self.peek.kind != "RPAREN":
            while True:
                args.append(self.expression(0, depth + 1))
                if self.peek.kind != "COMMA":
                    break
                self.advance()
        self.expect("RPAREN", f"Missing ) to close {name.text}(", opening.pos)
        if name.text in ("TRUE", "FALSE") and not args:
            return self.node(ast.Boolean(name.pos, value=name.text == "TRUE"))
        return self.node(ast.Call(name.pos, name=name.text, args=args))

    def expect(self, kind: str, message: str, pos: int) -> None:
        if self.peek.kind != kind:
            found = self.peek
            raise FormulaError(
                f"{message} at character {pos + 1} (found {_describe(found)}).",
                found.pos,
                code="FORMULA_SYNTAX",
            )
        self.advance()


def _canonical(op: str) -> str:
    return {"==": "=", "<>": "!="}.get(op, op)


def _describe(token: Token) -> str:
    if token.kind == "END":
        return "the end of the formula"
    if token.kind == "FIELD":
        return f"field {{{token.text}}}"
    if token.kind == "STRING":
        return f"text {token.text!r}"
    return repr(token.text)
