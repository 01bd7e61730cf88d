"""``offyai models`` in a real terminal (tmux): narrow panes lose columns, never names."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import write_config
from tests.tmux import OFFYAI, TmuxSession, base_env

pytestmark = pytest.mark.slow

NAMES = ("smollm2-135m-instruct", "gemma3-270m", "all-minilm-l6-v2")


def table_in_pane(app_home, user_home, width: int) -> list[str]:
    write_config(app_home)
    env = base_env(user_home, OFFYAI_HOME=app_home)
    with TmuxSession([str(OFFYAI), "models", "--engine", "llamacpp"], env, width, 30) as tmux:
        assert tmux.wait_dead(timeout=60) == 0
        return tmux.screen().splitlines()


def header_of(lines: list[str]) -> list[str]:
    header = next(line for line in lines if "name" in line and "fit" in line)
    return [cell.strip() for cell in header.strip("│┃ ").replace("┃", "│").split("│")]


def test_an_80_column_terminal_drops_low_value_columns_not_names(app_home, user_home) -> None:
    lines = table_in_pane(app_home, user_home, 80)
    assert all(len(line) <= 80 for line in lines)
    for name in NAMES:
        assert any(f" {name} " in line for line in lines), "\n".join(lines)
    assert not any("…" in line for line in lines), "\n".join(lines)
    columns = header_of(lines)
    assert columns[0] == "name" and "fit" in columns and "speed" in columns
    assert "caps" not in columns and "context" not in columns


def test_a_wide_terminal_shows_every_column(app_home, user_home) -> None:
    columns = header_of(table_in_pane(app_home, user_home, 200))
    assert columns == [
        "name", "engine", "family", "params", "quant", "size", "context", "caps", "loaded",
        "fit", "speed",
    ]  # fmt: skip


def test_a_very_narrow_terminal_still_shows_whole_names(app_home, user_home) -> None:
    lines = table_in_pane(app_home, user_home, 44)
    for name in NAMES:
        assert any(f" {name} " in line for line in lines), "\n".join(lines)
    assert header_of(lines) == ["name", "fit", "speed"]
