"""The calculator: exact answers, and nothing but arithmetic runs."""

from __future__ import annotations

import time
from decimal import Decimal
from fractions import Fraction

import pytest

from offyai_tui.tools.calculator import CalcError, evaluate, format_value, run


@pytest.mark.parametrize(
    ("expression", "shown"),
    [
        ("0.1 + 0.2", "0.3"),  # a float would say 0.30000000000000004
        ("1/3 + 1/6", "0.5"),
        ("2**100", "1267650600228229401496703205376"),
        ("2^10", "1024"),
        ("(1.5 + 2) * 3 / 7", "1.5"),
        ("-3 // 2", "-2"),
        ("7 % 3", "1"),
        ("10 ** -2", "0.01"),
        ("1e-3 * 3", "0.003"),
        ("-0.05", "-0.05"),
        ("sqrt(16/9)", "4/3 ≈ 1.33333333333333333333333333333"),
        ("round(2/3, 3)", "0.667"),
        ("max(1, 2.5, 2)", "2.5"),
        ("3 × 4 ÷ 2 − 1", "5"),
        ("99999999999999999999 + 1", "100000000000000000000"),
    ],
)
def test_answers_are_exact(expression: str, shown: str) -> None:
    assert format_value(evaluate(expression)) == shown


def test_a_repeating_fraction_is_shown_exact_and_approximate() -> None:
    assert evaluate("1/3") == Fraction(1, 3)
    assert format_value(evaluate("1/3")) == "1/3 ≈ 0.333333333333333333333333333333"


def test_an_irrational_root_is_marked_approximate_and_stays_accurate_in_a_sum() -> None:
    value = evaluate("sqrt(2) * sqrt(2)")
    assert isinstance(value, Decimal)
    assert format_value(value) == "≈ 2.00000000000000000000000000000"
    assert format_value(evaluate("2 ** 0.5")).startswith("≈ 1.41421356237309504880")


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("__import__('os').system('true')", "not allowed"),
        ("open('/etc/passwd')", "not allowed"),
        ("x + 1", "the name 'x' is not allowed"),
        ("(1).real", "not allowed"),
        ("[1, 2][0]", "not allowed"),
        ("'a' * 3", "not allowed"),
        ("lambda: 1", "not allowed"),
        ("sqrt(x=4)", "not allowed"),
        ("1 if 1 else 2", "not allowed"),
        ("1 < 2", "not allowed"),
        ("1/0", "division by zero"),
        ("5 % 0", "modulo by zero"),
        ("0 ** -1", "division by zero"),
        ("sqrt(-1)", "negative"),
        ("2 ** (1/3)", "whole-number powers"),
        ("1 +", "not an arithmetic expression"),
        ("", "empty"),
        ("1" + "+1" * 1500, "longer than"),
    ],
)
def test_anything_but_arithmetic_is_refused_with_one_line(expression: str, why: str) -> None:
    with pytest.raises(CalcError, match=why.replace("(", r"\(")) as raised:
        evaluate(expression)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("expression", ["9**9**9", "2**10**8", "10**100000 * 10**100000",
                                        "(10**30000 + 1) / (10**30000 + 3)", "7**-10**7"])
def test_huge_results_are_refused_before_they_are_computed(expression: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CalcError, match="too large"):
        evaluate(expression)
    assert time.perf_counter() - started < 1.0


async def test_the_tool_answers_with_the_expression_and_fails_as_an_error_result() -> None:
    ok = await run({"expression": "0.1 + 0.2"})
    assert (ok.text, ok.is_error) == ("0.1 + 0.2 = 0.3", False)
    bad = await run({"expression": "os.system('rm -rf ~')"})
    assert bad.is_error and "not allowed" in bad.text
    missing = await run({})
    assert missing.is_error and "expression" in missing.text
