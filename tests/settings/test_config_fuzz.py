"""Fuzz: no config.toml, theme, mode file or keymap stops the app or prints a traceback.

Hypothesis writes real files (config, ``themes/*.toml``, ``modes/*.toml``) into
a fresh ``OFFYAI_HOME`` and drives the real load paths: ``load_settings``,
``load_themes``, ``load_modes``, the CLI's start (``offyai locate`` in-process:
warnings printed, exit code) and, for fewer examples, the real app started
headless with ``run_test`` (keymap applied, every loaded theme switched to).
The inputs mix valid names and values with the mistakes users make (wrong
types, NaN, huge numbers, ``#12345``, ``Ctrl+Q``, ``,,,``) and garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offyai_tui.__main__ import main
from offyai_tui.chat.modes import load_modes
from offyai_tui.chat.params import PARAMETERS
from offyai_tui.settings.config import Settings, load_settings
from offyai_tui.ui.themes import COLOR_KEYS, load_themes, user_themes_dir

SECTIONS = {f.name: f for f in dataclasses.fields(Settings) if f.name not in {"warnings",
                                                                              "overrides"}}
WORDS = ["", "auto", "ollama", "openai", "openai:x", "llamacpp", "cloud", "default", "coder",
         "offyai-dark", "fuzz0", "5m", "-1", "nan", "http://:::", "127.0.0.1\r\n:1",
         "http://user:pass@127.0.0.1:11434", "[::1", "a b", "\x1b[2J", "ctrl+q", "Ctrl+Q",
         ",,,", "ctrl+", "notakey", "ctrl+p", "f1", "escape", "alt+d", "shift+Ctrl+Up", "?",
         "#12345", "#4FA3E0", "red", "rgb(1,2,3)", "$primary 40%", "bold", "auto 87%",
         "transparent", "{", '"', "💥", "a" * 300]
KEY_IDS = ["app.quit", "app.palette", "app.help", "chat.new", "chat.stop", "prompt.send",
           "prompt.newline", "help.close", "models.back", "nope.nope"]
THEME_VARIABLES = ["footer-key-foreground", "block-cursor-text-style", "footer-background",
                   "text", "link-style", "input-selection-background", "my-own"]

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, 1, -1, 128, 4096, 100_000, 1_048_576, 2**40]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3),
                   st.dictionaries(st.sampled_from(WORDS[:6]), scalars, max_size=2))


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """TOML for ``value`` (inline tables and arrays; nan and inf as TOML spells them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(table: dict[str, Any]) -> str:
    """Top-level keys: scalars first, then ``[section]`` tables."""
    lines = [f"{_string(k)} = {toml_value(v)}" for k, v in table.items()
             if not isinstance(v, dict)]
    for key, section in table.items():
        if isinstance(section, dict):
            lines.append(f"[{_string(key)}]")
            lines += [f"{_string(k)} = {toml_value(v)}" for k, v in section.items()]
    return "\n".join(lines) + "\n"


def _section_keys(name: str) -> list[str]:
    hint = SECTIONS[name].default_factory()  # type: ignore[misc]
    if dataclasses.is_dataclass(hint):
        return [f.name for f in dataclasses.fields(hint)]
    return KEY_IDS if name == "keys" else ["name", "url", "api_key_env", "model"]


@st.composite
def config_text(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=60))  # garbage: mostly not TOML at all
    table: dict[str, Any] = {}
    for section in draw(st.lists(st.sampled_from([*SECTIONS, "nonsense"]), max_size=5,
                                 unique=True)):
        if section == "openai" and draw(st.booleans()):
            entry = st.dictionaries(st.sampled_from(_section_keys("openai")), scalars,
                                    max_size=3)
            table[section] = draw(st.lists(entry, max_size=2))  # an array of tables
            continue
        if section == "nonsense" or draw(st.integers(0, 7)) == 0:
            table[section] = draw(values)  # a section that is not a table
            continue
        names = [*_section_keys(section), "typo"]
        pick = st.sampled_from(WORDS[18:36]) if section == "keys" else values
        table[section] = draw(st.dictionaries(st.sampled_from(names), pick, max_size=5))
    return toml_document(table)


@st.composite
def theme_text(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=40))
    table: dict[str, Any] = {"name": draw(st.sampled_from(["fuzz0", "fuzz1", "", "a b", 3]))}
    colours = st.one_of(st.sampled_from(WORDS[31:]), scalars)
    for key in draw(st.lists(st.sampled_from(COLOR_KEYS), max_size=4, unique=True)):
        table[key] = draw(colours)
    if draw(st.integers(0, 5)):
        table["primary"] = draw(st.sampled_from(["#4FA3E0", "#12345", "red", "nope"]))
    if draw(st.booleans()):
        table["dark"] = draw(st.one_of(st.booleans(), scalars))
    table["variables"] = draw(st.one_of(
        st.dictionaries(st.sampled_from(THEME_VARIABLES), st.sampled_from(WORDS[31:]),
                        max_size=4),
        values))
    return toml_document(table)


@st.composite
def mode_text(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=40))
    table: dict[str, Any] = {"name": draw(st.one_of(st.sampled_from(["Fuzz", "Coder", ""]),
                                                   scalars))}
    table[draw(st.sampled_from(["system", "system_prompt"]))] = draw(
        st.one_of(st.text(max_size=30), scalars))
    if draw(st.booleans()):
        table["description"] = draw(st.one_of(st.text(max_size=20), scalars))
    table["parameters"] = draw(st.one_of(
        st.dictionaries(st.sampled_from([*PARAMETERS, "nope"]), scalars, max_size=3), values))
    return toml_document(table)


@contextlib.contextmanager
def user_files(config: str, theme: str, mode: str) -> Iterator[Path]:
    """A fresh ``OFFYAI_HOME`` holding the three files, for the duration of one example."""
    before = os.environ.get("OFFYAI_HOME")
    with tempfile.TemporaryDirectory(prefix="offyai-fuzz-") as tmp:
        home = Path(tmp)
        os.environ["OFFYAI_HOME"] = str(home)
        try:
            (home / "config").mkdir()
            (home / "config" / "config.toml").write_text(config, encoding="utf-8")
            user_themes_dir().mkdir()
            (user_themes_dir() / "fuzz.toml").write_text(theme, encoding="utf-8")
            (home / "config" / "modes").mkdir()
            (home / "config" / "modes" / "fuzz.toml").write_text(mode, encoding="utf-8")
            yield home
        finally:
            if before is None:
                os.environ.pop("OFFYAI_HOME", None)
            else:
                os.environ["OFFYAI_HOME"] = before


def one_line_each(lines: list[str]) -> None:
    for line in lines:
        assert isinstance(line, str) and line and "\n" not in line, line
        assert "Traceback" not in line, line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=config_text(), theme=theme_text(), mode=mode_text())
def test_no_file_breaks_loading_or_the_cli_start(config: str, theme: str, mode: str) -> None:
    with user_files(config, theme, mode):
        loaded = load_settings()
        one_line_each(loaded.warnings)
        temperature = loaded.chat.temperature  # unset (None): the model's own applies
        assert temperature is None or (math.isfinite(temperature) and 0 <= temperature <= 2)
        assert loaded.llamacpp.n_threads <= (os.cpu_count() or 1)
        themes, notes = load_themes()
        one_line_each(notes)
        assert "offyai-dark" in {t.name for t in themes}
        catalog = load_modes()
        one_line_each(catalog.warnings)
        assert catalog.default.key == "default"  # built in, or a user mode replacing it

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["locate"])
        assert code == 0, err.getvalue()
        assert "Traceback" not in err.getvalue()
        one_line_each(err.getvalue().splitlines())


async def _start_app() -> list[str]:
    """The real app, headless: start, switch to every theme, quit. Returns its warnings."""
    from offyai_tui.settings.workspace import Workspace
    from offyai_tui.ui.app import make_app
    from offyai_tui.ui.screens.chat import ChatScreen

    app = make_app(settings=load_settings(), workspace=Workspace.open("default"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen), app.screen
        for name in [*app._own_themes]:
            app.theme = name
            await pilot.pause()
            assert app.is_running and app.theme == name
        warnings = list(app.startup_warnings)
    assert app.return_code in (None, 0), app.return_code
    return warnings


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(config=config_text(), theme=theme_text(), mode=mode_text())
def test_no_file_stops_the_real_app_from_starting(config: str, theme: str, mode: str) -> None:
    with user_files(config, theme, mode):
        one_line_each(asyncio.run(_start_app()))


def test_the_reported_theme_and_keys_start_the_app() -> None:
    """The issue's own reproductions, always among the examples."""
    config = '[ui]\ntheme = "fuzz0"\n[keys]\n"app.quit" = "Ctrl+Q"\n"chat.new" = "ctrl+p"\n'
    theme = 'name = "fuzz0"\nprimary = "#4FA3E0"\n[variables]\nfooter-key-foreground = "#12345"\n'
    mode = 'name = "Fuzz"\nsystem = "You are terse."\n'
    with user_files(config, theme, mode):
        warnings = asyncio.run(_start_app())
        assert any("footer-key-foreground" in w for w in warnings), warnings
        assert any("chat.new" in w for w in warnings), warnings
        assert load_modes().get("fuzz") is not None
