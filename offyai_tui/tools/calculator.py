"""Exact arithmetic for models, which are bad at it: ``0.1 + 0.2`` is ``0.3`` here.

The expression is parsed by :mod:`ast` and walked over a whitelist of node
types: numbers, the arithmetic operators, parentheses and a few functions.
Nothing is ever evaluated as Python, so no name, attribute, call or
subscript outside the whitelist can run. Numbers are exact fractions (a
decimal literal is read from its digits, not from a binary float), so
answers are exact wherever arithmetic allows; only ``sqrt`` of a non-square
gives an approximation, marked with ``≈``.

A model can ask for ``9**9**9`` (hundreds of millions of digits, minutes of
CPU, gigabytes of memory), so every operation's result size is bounded
*before* it is computed: :data:`MAX_BITS` for numerators and denominators.
"""

from __future__ import annotations

import ast
import math
import operator
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from offyai_tui.engines.parts import ToolSpec
from offyai_tui.tools.base import BuiltinTool, ToolResult, error

MAX_BITS = 100_000
"""Largest numerator or denominator, in bits (about 30,000 decimal digits)."""
MAX_LENGTH = 2000
"""Longest expression read; a longer one is not arithmetic a person asked for."""
DECIMALS = 30
"""Significant digits of an inexact result (a repeating fraction, a square root)."""

SPEC = ToolSpec(
    "calculator",
    "Evaluate an arithmetic expression exactly. Supports + - * / // % ** (or ^), "
    "parentheses, decimals, and the functions sqrt, abs, round, floor, ceil, min, max. "
    "Use it for any calculation instead of doing arithmetic yourself.",
    {
        "type": "object",
        "properties": {
            "expression": {"type": "string", "description": "e.g. (1.5 + 2) * 3 / 7"},
        },
        "required": ["expression"],
    },
)


class CalcError(ValueError):
    """An expression that is not allowed or cannot be computed; the message is one line."""


def _bits(value: Fraction) -> int:
    return max(value.numerator.bit_length(), value.denominator.bit_length())


def _check_size(bits: float) -> None:
    if bits > MAX_BITS:
        raise CalcError(f"the result would be too large (over {MAX_BITS:,} bits)")


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        if exponent == Fraction(1, 2):
            return _sqrt_exact(base)
        raise CalcError("only whole-number powers are exact; use sqrt for square roots")
    exp = exponent.numerator
    if base == 0 and exp < 0:
        raise CalcError("division by zero (0 to a negative power)")
    if base in (0, 1):
        return base
    if base == -1:
        return Fraction(1 if exp % 2 == 0 else -1)
    _check_size(abs(exp) * _bits(base))
    return base**exp


def _sqrt_exact(value: Fraction) -> Fraction:
    if value < 0:
        raise CalcError("square root of a negative number")
    num, den = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if num * num == value.numerator and den * den == value.denominator:
        return Fraction(num, den)
    with localcontext() as ctx:  # more digits than shown, so the rest stays accurate
        ctx.prec = DECIMALS + 20
        root = (Decimal(value.numerator) / Decimal(value.denominator)).sqrt()
    raise _Inexact(Fraction(root))


class _Inexact(Exception):
    """A square root that is not a fraction: the evaluator goes on with an
    approximation and marks the result as one."""

    def __init__(self, value: Fraction) -> None:
        super().__init__(str(value))
        self.value = value


def _decimal(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = DECIMALS
        return Decimal(value.numerator) / Decimal(value.denominator)


def _div(a: Fraction, b: Fraction) -> Fraction:
    if b == 0:
        raise CalcError("division by zero")
    return a / b


def _floordiv(a: Fraction, b: Fraction) -> Fraction:
    if b == 0:
        raise CalcError("division by zero")
    return Fraction(a // b)


def _mod(a: Fraction, b: Fraction) -> Fraction:
    if b == 0:
        raise CalcError("modulo by zero")
    return a % b


_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: _div,
    ast.FloorDiv: _floordiv, ast.Mod: _mod, ast.Pow: _power, ast.BitXor: _power,
}  # fmt: skip


def _round(value: Fraction, digits: Fraction = Fraction(0)) -> Fraction:
    if digits.denominator != 1 or not -1000 <= digits <= 1000:
        raise CalcError("round takes a whole number of digits between -1000 and 1000")
    scale = Fraction(10) ** int(digits)
    return Fraction(round(value * scale)) / scale


_FUNCTIONS: dict[str, tuple[Any, int, int]] = {
    "sqrt": (_sqrt_exact, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "floor": (lambda x: Fraction(math.floor(x)), 1, 1),
    "ceil": (lambda x: Fraction(math.ceil(x)), 1, 1),
    "min": (min, 1, 100),
    "max": (max, 1, 100),
}


class _Evaluator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.inexact = False

    def value(self, node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return self.value(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            text = ast.get_source_segment(self.source, node) or repr(node.value)
            try:  # the digits as written: 0.1 is 1/10, not the float nearest to it
                return Fraction(text.replace("_", ""))
            except (ValueError, ZeroDivisionError):
                return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(node.op, ast.Mult):
                _check_size(_bits(left) + _bits(right))
            elif isinstance(node.op, (ast.Add, ast.Sub, ast.Div)):
                _check_size(_bits(left) + _bits(right) + 1)
            try:
                return _BINARY[type(node.op)](left, right)
            except _Inexact as inexact:  # x ** 0.5
                self.inexact = True
                return inexact.value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node)
        raise CalcError(f"{_describe(node)} is not allowed: only numbers, + - * / // % ** "
                        f"and {', '.join(_FUNCTIONS)}")

    def call(self, node: ast.Call) -> Fraction:
        name = node.func.id  # type: ignore[attr-defined]
        if name not in _FUNCTIONS or node.keywords:
            raise CalcError(f"the function {name!r} is not allowed; allowed: "
                            f"{', '.join(_FUNCTIONS)}")
        function, low, high = _FUNCTIONS[name]
        if not low <= len(node.args) <= high:
            raise CalcError(f"{name} takes {low if low == high else f'{low} to {high}'} "
                            f"argument{'s' if high > 1 else ''}")
        try:
            return Fraction(function(*(self.value(arg) for arg in node.args)))
        except _Inexact as inexact:
            self.inexact = True
            return inexact.value


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return f"the name {node.id!r}"
    if isinstance(node, ast.Constant):
        return f"the value {node.value!r}"
    if isinstance(node, ast.Call):
        return "that function call"
    return f"{type(node).__name__.lower()}"


def evaluate(expression: str) -> Fraction | Decimal:
    """The exact value of ``expression``, or a Decimal approximation when a square
    root in it is irrational.

    Raises:
        CalcError: not arithmetic, not allowed, or too large (one line).
    """
    text = expression.strip().replace("×", "*").replace("÷", "/").replace("−", "-")
    if not text:
        raise CalcError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise CalcError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CalcError(f"not an arithmetic expression: {exc.msg}") from None
    except (ValueError, RecursionError):
        raise CalcError("not an arithmetic expression") from None
    evaluator = _Evaluator(text)
    try:
        value = evaluator.value(tree)
    except RecursionError:
        raise CalcError("the expression is nested too deeply") from None
    except (OverflowError, MemoryError):
        raise CalcError("the result is too large") from None
    return _decimal(value) if evaluator.inexact else value


def format_value(value: Fraction | Decimal) -> str:
    """``42``, ``0.3``, ``1/3 ≈ 0.333…`` (30 digits), ``≈ 1.414…`` for a square root."""
    if isinstance(value, Decimal):
        return f"≈ {value}"
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    if den == 1:  # a terminating decimal: exact
        places = max(_power_of(value.denominator, 2), _power_of(value.denominator, 5))
        scaled = abs(value.numerator) * (10**places // value.denominator)
        digits = str(scaled).rjust(places + 1, "0")
        sign = "-" if value < 0 else ""
        return f"{sign}{digits[:-places]}.{digits[-places:]}"
    return f"{value.numerator}/{value.denominator} ≈ {_decimal(value)}"


def _power_of(number: int, prime: int) -> int:
    count = 0
    while number % prime == 0:
        number //= prime
        count += 1
    return count


async def run(arguments: dict[str, Any]) -> ToolResult:
    expression = arguments.get("expression")
    if not isinstance(expression, str):
        return error('calculator needs {"expression": "..."}, e.g. "(1.5 + 2) * 3"')
    try:
        value = evaluate(expression)
    except CalcError as exc:
        return error(f"{exc}")
    return ToolResult(f"{' '.join(expression.split())} = {format_value(value)}")


TOOL = BuiltinTool(SPEC, run)
