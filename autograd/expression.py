"""A safe calculator language for Values: parse a formula once, evaluate it on Values.

    expression = Expression("tanh(x*w + b)")
    expression.variables                      # ('x', 'w', 'b')
    out = expression.evaluate({"x": 2, "w": -3, "b": 6.88})
    out.backward()

The text is parsed with Python's `ast` and every node is checked against a
whitelist; nothing is ever passed to `eval`. Allowed: numbers (int or float),
variable names, parentheses, unary `+`, and the operations of the engine's
table (`autograd.OPS`) that the expression language offers: those written with
a symbol (`+ - * / **`, unary `-`) and those called by name, such as exp, tanh
or leaky_relu (whose second argument, the slope, is an optional number).
`functions()` lists them. Anything else is an `ExpressionError` naming the
construct and where it is.

Names are compared after Unicode NFKC normalization, as Python does: "ﬁ" is "fi"
and "𝑥" is "x", in the expression and in the names of the values alike. Writing
one name two ways in one expression ("𝑥 + x") is an error rather than a silent merge.
"""

from __future__ import annotations

import ast
import math
import unicodedata
from collections.abc import Mapping
from typing import Any

from autograd.engine import Constant, Value
from autograd.ops import OPS, Op

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "EvaluationError", "Expression", "ExpressionError",
           "functions", "normalize_name"]


def functions() -> dict[str, Op]:
    """The operations called by name in expressions (exp, tanh, ...), from the table."""
    return {op.expression_name: op for op in tuple(OPS.values()) if op.expression_name}


def _symbols(arity: int) -> dict[str, Op]:
    return {op.symbol: op for op in tuple(OPS.values())
            if op.symbol is not None and op.arity == arity and op.in_expressions}


def _arguments(op: Op) -> tuple[int, int]:
    """How many arguments a function takes: at least, at most (a default may be left out)."""
    return (op.arity - (op.default is not None), op.arity)


MAX_LENGTH = 10_000   # characters
MAX_DEPTH = 200       # operations inside operations; Python's own parser gives up near 1000
LABEL_LENGTH = 24     # longer subexpressions are not used as node labels

# Python's operator syntax, as the symbols the table writes.
_SYNTAX = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
           ast.USub: "-"}

# What to call the constructs that are not allowed, so the error says what was written.
_CONSTRUCTS = {
    ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Slice: "slice",
    ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict", ast.Set: "set",
    ast.ListComp: "list comprehension", ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension", ast.GeneratorExp: "generator expression",
    ast.Lambda: "lambda", ast.IfExp: "conditional expression (if/else)",
    ast.Compare: "comparison", ast.BoolOp: "and/or", ast.NamedExpr: "assignment (:=)",
    ast.JoinedStr: "f-string", ast.FormattedValue: "f-string", ast.Starred: "starred argument",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
}
_OPERATORS = {
    ast.FloorDiv: "the // operator", ast.Mod: "the % operator", ast.MatMult: "the @ operator",
    ast.LShift: "the << operator", ast.RShift: "the >> operator", ast.BitOr: "the | operator",
    ast.BitXor: "the ^ operator", ast.BitAnd: "the & operator", ast.Not: "not",
    ast.Invert: "the ~ operator",
}


def normalize_name(name: str) -> str:
    """`name` as Python reads an identifier: NFKC-normalized ("ﬁ" -> "fi", "𝑥" -> "x")."""
    return unicodedata.normalize("NFKC", name)


class ExpressionError(ValueError):
    """The text is not an allowed expression. `column` (1-based) is where, when known."""

    def __init__(self, message: str, column: int | None = None, line: int = 1,
                 hint: str = "") -> None:
        where = ""
        if column is not None:
            where = f" at column {column}" if line == 1 else f" at line {line}, column {column}"
        super().__init__(message + where + (f" ({hint})" if hint else ""))
        self.column = column
        self.line = line


class EvaluationError(ValueError):
    """The expression is allowed, but a step of it failed on these values (such as log(-1))."""


class Expression:
    """A checked formula over named variables, evaluated with Value operations."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"Expression: text must be a str, got {type(text).__name__}")
        if len(text) > MAX_LENGTH:
            raise ExpressionError(f"the expression is too long ({len(text)} characters; "
                                  f"at most {MAX_LENGTH})")
        if not text.strip():
            raise ExpressionError("the expression is empty")
        self.text = text
        # Python reads leading spaces as an indent; here they mean nothing, but columns
        # still count them.
        source = text.lstrip(" \t")
        self._indent = len(text) - len(source)
        self._lines = source.splitlines() or [source]
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as error:
            # Python's own advice after a ";" (such as set_int_max_str_digits) does not apply.
            detail = "" if error.msg == "invalid syntax" else error.msg.split(";")[0]
            line = min(max(error.lineno or 1, 1), len(self._lines))
            column = error.offset
            if not column or column < 1:  # Python gives 0 when the text ends too early
                column, detail = len(self._lines[line - 1]) + 1, detail or "unexpected end"
            if line == 1:
                column += self._indent
            raise ExpressionError("invalid syntax", column, line, detail) from None
        except (RecursionError, MemoryError):
            raise ExpressionError(f"the expression is nested too deeply "
                                  f"(at most {MAX_DEPTH} levels)") from None
        except ValueError as error:
            raise ExpressionError(f"invalid expression ({error})") from None
        self._tree = tree.body
        self._spellings: dict[str, str] = {}  # each name as first written
        names: dict[str, None] = {}  # a dict keeps the order of first appearance
        self._check(self._tree, 0, names)
        self.variables: tuple[str, ...] = tuple(names)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def evaluate(self, values: Mapping[str, float | Value]) -> Value:
        """The expression's Value, computed from `values`: each variable's number or Value.

        Numbers become leaf Values labelled with the variable's name; Values are used
        as they are. Subexpressions up to 24 characters long label their nodes (a longer
        whole expression is labelled "out"). Raises
        ValueError when a variable is missing or unknown, EvaluationError when an
        operation fails (log of a negative number, division by zero, overflow).
        """
        if not isinstance(values, Mapping):
            raise TypeError(f"evaluate: values must be a mapping of variable names to numbers, "
                            f"got {type(values).__name__}")
        normalized: dict[str, float | Value] = {}
        for key, value in values.items():
            if not isinstance(key, str):
                raise TypeError(f"evaluate: variable names must be str, got "
                                f"{type(key).__name__}")
            name = normalize_name(key)
            if name in normalized:
                raise ValueError(f"variable {name} is given twice (as {key!r} and another "
                                 f"spelling that is the same after Unicode normalization)")
            normalized[name] = value
        values = normalized
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise ValueError(f"no value given for {_names(missing)}")
        unused = [name for name in values if name not in self.variables]
        if unused:
            raise ValueError(f"{_names(unused)} not in the expression "
                             f"(its variables: {_name_list(list(self.variables)) or 'none'})")
        leaves: dict[str, Value] = {}
        for name in self.variables:
            value = values[name]
            if isinstance(value, Value):
                leaves[name] = value
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"the value of {name} must be a number or a Value, "
                                f"got {type(value).__name__}")
            else:
                leaves[name] = Value(value, label=name)
        out = self._evaluate(self._tree, leaves)
        if not out.label:  # its text was too long for a label
            out.label = "out"
        return out

    # --- checking ----------------------------------------------------------------

    def _column(self, node: ast.AST, after: ast.AST | None = None) -> tuple[int, int]:
        """(column, line) of `node`, both from 1; with `after`, of the first symbol after
        `after` ends (an operator, a "." or a "["), skipping spaces and ")"."""
        line, offset = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        if after is not None:
            line = getattr(after, "end_lineno", None) or line
            offset = getattr(after, "end_col_offset", None) or offset
        text = self._lines[line - 1] if line <= len(self._lines) else ""
        encoded = text.encode("utf-8")
        if after is not None:
            while offset < len(encoded) and encoded[offset:offset + 1] in (b" ", b"\t", b")"):
                offset += 1
        # ast counts columns in UTF-8 bytes; people count characters.
        prefix = encoded[:offset].decode("utf-8", "replace")
        return len(prefix) + 1 + (self._indent if line == 1 else 0), line

    def _refuse(self, what: str, node: ast.AST, after: ast.AST | None = None,
                hint: str = "") -> ExpressionError:
        column, line = self._column(node, after)
        return ExpressionError(f"not allowed in an expression: {what}", column, line, hint)

    def _check(self, node: ast.AST, depth: int, names: dict[str, None]) -> None:
        if depth > MAX_DEPTH:
            column, line = self._column(node)
            raise ExpressionError(f"the expression is nested too deeply "
                                  f"(at most {MAX_DEPTH} levels)", column, line)
        if isinstance(node, ast.Constant):
            self._number(node)
        elif isinstance(node, ast.Name):
            if node.id in functions():
                raise self._refuse(f"{node.id} without parentheses", node,
                                   hint=f"it is a function: write {node.id}(...)")
            self._check_spelling(node)
            names[node.id] = None
        elif isinstance(node, ast.BinOp):
            if _SYNTAX.get(type(node.op)) not in _symbols(2):
                raise self._refuse(_OPERATORS.get(type(node.op), type(node.op).__name__), node,
                                   after=node.left)
            self._check(node.left, depth + 1, names)
            self._check(node.right, depth + 1, names)
        elif isinstance(node, ast.UnaryOp):
            if not (isinstance(node.op, ast.UAdd) or _SYNTAX.get(type(node.op)) in _symbols(1)):
                raise self._refuse(_OPERATORS.get(type(node.op), type(node.op).__name__), node)
            self._check(node.operand, depth + 1, names)
        elif isinstance(node, ast.Call):
            self._check_call(node, depth, names)
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            # Point at the "." or "[" rather than at the start of what comes before it.
            raise self._refuse(_CONSTRUCTS[type(node)], node, after=node.value)
        else:
            raise self._refuse(_CONSTRUCTS.get(type(node), type(node).__name__), node)

    def _check_spelling(self, node: ast.Name) -> None:
        # Python has already normalized node.id; the text says how it was written.
        line = self._lines[node.lineno - 1].encode("utf-8")
        written = line[node.col_offset:node.end_col_offset].decode("utf-8", "replace")
        first = self._spellings.setdefault(node.id, written)
        if written != first:
            column, line_number = self._column(node)
            raise ExpressionError(
                f"{first!r} and {written!r} are the same name {node.id!r} after Unicode "
                f"normalization (NFKC); write it one way", column, line_number)

    def _check_call(self, node: ast.Call, depth: int, names: dict[str, None]) -> None:
        known = functions()
        if not isinstance(node.func, ast.Name):
            what = _CONSTRUCTS.get(type(node.func), type(node.func).__name__)
            raise self._refuse(f"calling the result of {what}", node,
                               hint=f"the functions are {', '.join(known)}")
        name = node.func.id
        if name not in known:
            raise self._refuse(f"unknown function {name!r}", node,
                               hint=f"the functions are {', '.join(known)}")
        if node.keywords:
            keyword = node.keywords[0]
            what = f"keyword argument {keyword.arg}=" if keyword.arg else "**arguments"
            raise self._refuse(f"{what} in {name}(...)", keyword,
                               hint="pass arguments by position")
        op = known[name]
        fewest, most = _arguments(op)
        if not fewest <= len(node.args) <= most:
            expected = str(fewest) if fewest == most else f"{fewest} or {most}"
            column, line = self._column(node)
            raise ExpressionError(f"{name} takes {expected} argument"
                                  f"{'' if expected == '1' else 's'}, got {len(node.args)}",
                                  column, line)
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                raise self._refuse("starred argument", argument)
        self._check(node.args[0], depth + 1, names)
        # A second operand with a default is a setting (a slope), written as a number.
        if len(node.args) == 2 and op.default is not None and _literal(node.args[1]) is None:
            column, line = self._column(node.args[1])
            raise ExpressionError(f"the {op.parameter} of {name} must be a number", column, line)
        for argument in node.args[1:]:
            self._check(argument, depth + 1, names)

    def _number(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kinds = {str: "string", bytes: "bytes", bool: "True/False", complex: "complex number",
                     type(None): "None", type(...): "..."}
            raise self._refuse(kinds.get(type(value), type(value).__name__), node)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            column, line = self._column(node)
            raise ExpressionError("number too large for a float", column, line)
        return number

    # --- evaluating --------------------------------------------------------------

    def _evaluate(self, node: ast.AST, leaves: dict[str, Value]) -> Value:
        if isinstance(node, ast.Constant):
            return Constant(self._number(node))
        if isinstance(node, ast.Name):
            return leaves[node.id]
        literal = _literal(node)
        if literal is not None:  # -3 is one number, not neg(3)
            return Constant(literal)
        if isinstance(node, ast.UnaryOp):
            operand = self._evaluate(node.operand, leaves)
            if isinstance(node.op, ast.UAdd):
                return operand
            return self._apply(node, _symbols(1)[_SYNTAX[type(node.op)]].method, operand)
        if isinstance(node, ast.BinOp):
            left = self._evaluate(node.left, leaves)
            right = self._evaluate(node.right, leaves)
            return self._apply(node, _symbols(2)[_SYNTAX[type(node.op)]].method, left, right)
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name), "checked"
        op = functions()[node.func.id]
        arguments: list[Value | float | None] = [self._evaluate(a, leaves) for a in node.args]
        if op.default is not None:   # the setting is passed as the number it is
            arguments[1:] = [_literal(a) for a in node.args[1:]]
        return self._apply(node, op.method, *arguments)

    def _apply(self, node: ast.AST, method: str, operand: Any, *others: Any) -> Value:
        try:
            result = getattr(operand, method)(*others)
        except (ArithmeticError, ValueError) as error:
            column, _ = self._column(node, node.left if isinstance(node, ast.BinOp) else None)
            raise EvaluationError(f"cannot compute {ast.unparse(node)} (column {column}): "
                                  f"{error}") from None
        text = ast.unparse(node)
        if len(text) <= LABEL_LENGTH:  # longer labels would crowd the drawing
            result.label = text
        return result


def _literal(node: ast.AST) -> float | None:
    """The number `node` is, if it is a number literal or a signed one, else None."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        if isinstance(node.op, ast.USub):
            sign = -sign
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        try:
            number = float(node.value)
        except OverflowError:
            return None
        return sign * number if math.isfinite(number) else None
    return None


def _name_list(names: list[str], limit: int = 40) -> str:
    """The names, each cut to `limit` characters, at most 10 of them."""
    shown = [name if len(name) <= limit else name[:limit] + "..." for name in names[:10]]
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return ", ".join(shown) + more


def _names(names: list[str]) -> str:
    return ("variable " if len(names) == 1 else "variables ") + _name_list(names)
