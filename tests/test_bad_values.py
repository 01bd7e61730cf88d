"""The checks behind "one bad value never stops the app", one layer at a time.

The end-to-end reproductions live in ``tests/e2e/test_bad_values_*.py``; these
pin down each rule with real files and real parsers, quickly.
"""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offyai_tui.chat.context import resolve_budget
from offyai_tui.chat.modes import ModeFileError, load_mode_file
from offyai_tui.commands.guard import read_piped
from offyai_tui.engines.errors import EngineUnavailable
from offyai_tui.engines.ollama import OllamaEngine, base_url
from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.settings.config import Settings, parse_settings
from offyai_tui.ui.bindings import remappable
from offyai_tui.ui.keymap import check_keymap, normalise_keys
from offyai_tui.ui.themes import parse_theme
from offyai_tui.util.oserrors import describe

BOUNDS = remappable()


# ------------------------------------------------------------------------ keys


@pytest.mark.parametrize(
    ("value", "keys"),
    [("Ctrl+Q", "ctrl+q"), ("shift+Ctrl+Up", "ctrl+shift+up"), ("Esc", "escape"),
     ("?", "question_mark"), ("F2, f2", "f2"), ("ctrl++", "ctrl+plus"), ("Q", "Q"),
     ("PgUp", "pageup"), ("control+option+x", "alt+ctrl+x")],
)
def test_keys_are_normalised_to_what_textual_matches(value: str, keys: str) -> None:
    assert normalise_keys(value) == keys


@pytest.mark.parametrize("value", ["notakey", ",,,", "ctrl+", "", "hyperdrive+x", "ctrl+ctrl+x",
                                   "ctrl+\x1b"])
def test_what_is_not_a_key_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        normalise_keys(value)


def test_bad_and_clashing_entries_keep_their_defaults_with_one_warning_each() -> None:
    wanted = {"app.quit": "Ctrl+Q", "chat.new": "ctrl+p", "app.help": "notakey",
              "nope.nope": "f9", "chat.search": ",,,", "chat.rename": "F7"}
    keymap, warnings = check_keymap(wanted, BOUNDS)
    assert keymap == {"app.quit": "ctrl+q", "chat.rename": "f7"}
    assert len(warnings) == 4, warnings
    clash = next(w for w in warnings if "'chat.new'" in w)
    assert "app.palette" in clash and "keeping ctrl+n" in clash
    assert all("\n" not in w for w in warnings)


def test_swapping_two_keys_is_not_a_clash() -> None:
    keymap, warnings = check_keymap({"chat.new": "ctrl+p", "app.palette": "ctrl+n"}, BOUNDS)
    assert keymap == {"chat.new": "ctrl+p", "app.palette": "ctrl+n"} and warnings == []


def test_every_default_key_is_a_valid_key() -> None:
    for bound in BOUNDS:
        normalise_keys(bound.keys)


# -------------------------------------------------------------------- config


def test_out_of_range_numbers_warn_and_keep_the_default() -> None:
    settings = parse_settings("[chat]\ntemperature = inf\nreply_reserve = -1\n"
                              "[ollama]\nstall_timeout = nan\n[llamacpp]\nn_ctx = 10\n")
    defaults = Settings()
    assert settings.chat == defaults.chat
    assert settings.ollama.stall_timeout == defaults.ollama.stall_timeout
    assert settings.llamacpp.n_ctx == defaults.llamacpp.n_ctx
    assert len(settings.warnings) == 4, settings.warnings


def test_threads_beyond_the_cpus_are_clamped_with_a_warning() -> None:
    settings = parse_settings("[llamacpp]\nn_threads = 100000\n")
    assert 1 <= settings.llamacpp.n_threads < 100000
    assert "llamacpp.n_threads = 100000" in settings.warnings[0]


def test_one_bad_entry_in_a_table_or_array_leaves_the_others() -> None:
    settings = parse_settings('openai = [1, {name = "vllm"}]\n[keys]\n"a.b" = 3\n"c.d" = "f5"\n')
    assert [e.name for e in settings.openai] == ["vllm"]
    assert settings.keys == {"c.d": "f5"}
    assert len(settings.warnings) == 2, settings.warnings


def test_an_unreadable_config_file_is_a_warning(tmp_path: Path) -> None:
    from offyai_tui.settings.config import load_settings

    path = tmp_path / "config.toml"
    path.write_bytes(b"[chat]\nmode = \"caf\xe9\"\n")
    settings = load_settings(path)
    assert settings.chat.mode == "default"
    assert "cannot be read" in settings.warnings[0] and str(path) in settings.warnings[0]


# -------------------------------------------------------------- OLLAMA_HOST


@pytest.mark.parametrize("host", ["http://:::", "127.0.0.1\r\n:11434", "http://a b:1",
                                  "http://[::1", "http://%zz", "http://h:1/?x=1"])
def test_hosts_that_are_no_address_are_refused_before_any_connection(host: str) -> None:
    with pytest.raises(ValueError):
        base_url(host)


def test_credentials_in_the_host_are_dropped_as_ollama_drops_them() -> None:
    assert base_url("http://user:pass@127.0.0.1:11434") == "http://127.0.0.1:11434"


def test_the_message_names_the_variable_that_was_set() -> None:
    settings = Settings()
    settings.ollama.host = "http://:::"
    settings.overrides["ollama.host"] = "OLLAMA_HOST"
    with pytest.raises(EngineUnavailable) as caught:
        OllamaEngine(settings)
    assert str(caught.value).startswith("OLLAMA_HOST = 'http://:::' is not a usable")


async def test_an_explicit_engine_that_does_not_answer_is_still_the_one_chosen() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings()
    settings.engine.default = "ollama"
    settings.ollama.host = f"127.0.0.1:{port}"
    registry = EngineRegistry(settings)
    try:
        selection = await registry.detect()
    finally:
        await registry.aclose()
    assert selection.engine.kind == "ollama" and not selection.answering
    assert "no other engine is used" in selection.reason


async def test_auto_detection_skips_an_unusable_host_with_one_warning() -> None:
    settings = Settings()
    settings.ollama.host = "127.0.0.1\r\n:1"
    settings.overrides["ollama.host"] = "OLLAMA_HOST"
    settings.openai = []
    registry = EngineRegistry(settings)
    try:
        selection = await registry.detect()
    finally:
        await registry.aclose()
    assert selection.engine.kind == "llamacpp"
    assert len(selection.warnings) == 1 and "OLLAMA_HOST" in selection.warnings[0]


# ------------------------------------------------------------ themes, modes


def test_a_bad_theme_variable_is_left_out_and_the_good_ones_kept() -> None:
    theme, warnings = parse_theme(
        'name = "t"\nprimary = "#4FA3E0"\n[variables]\nfooter-key-foreground = "#12345"\n'
        'block-cursor-text-style = "bold"\nfooter-background = "#102030"\n', "/x/t.toml")
    assert theme.variables == {"block-cursor-text-style": "bold",
                               "footer-background": "#102030"}
    (warning,) = warnings
    assert "/x/t.toml" in warning and "footer-key-foreground" in warning


def test_mode_files_accept_system_as_well_as_system_prompt(tmp_path: Path) -> None:
    path = tmp_path / "pirate.toml"
    path.write_text('name = "Pirate"\nsystem = "Arr."\n', encoding="utf-8")
    assert load_mode_file(path).system_prompt == "Arr."
    path.write_text('system = "a"\nsystem_prompt = "b"\n', encoding="utf-8")
    warnings: list[str] = []
    assert load_mode_file(path, warnings).system_prompt == "b"
    assert "both system and system_prompt" in warnings[0]
    path.write_text('name = "x"\n', encoding="utf-8")
    with pytest.raises(ModeFileError, match="system_prompt"):
        load_mode_file(path)


# ------------------------------------------------------------ numbers, input


def test_an_explicit_window_is_clamped_to_the_models_trained_window() -> None:
    assert resolve_budget(num_ctx=1_048_576, model_window=8192).window == 8192
    assert resolve_budget(configured_ctx=65536, model_window=8192).window == 8192
    assert resolve_budget(num_ctx=2048, model_window=8192).window == 2048
    assert resolve_budget(num_ctx=1_048_576).window == 1_048_576  # the model did not say


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


@pytest.mark.parametrize(
    ("data", "text", "note"),
    [(b"caf\xc3\xa9", "café", ""), (b"caf\xe9", "café", "Windows-1252"),
     (b"\x81\x8d", "\x81\x8d", "Latin-1")],
)
def test_piped_input_is_decoded_without_a_codec_error(data: bytes, text: str, note: str) -> None:
    got, said = read_piped(_Stdin(data))
    assert got == text and (note in said if note else said == "")


def test_binary_piped_input_is_one_line() -> None:
    with pytest.raises(ValueError, match="binary"):
        read_piped(_Stdin(b"\x00\x01PNG"))


def test_os_errors_name_the_path_and_the_reason() -> None:
    import errno

    line = describe(OSError(errno.EROFS, "Read-only file system", "/data/cache"))
    assert "/data/cache" in line and "read-only" in line and "Errno" not in line


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(max_size=40),
    st.builds(lambda a, b, c: f"{a}://{b}:{c}", st.sampled_from(["http", "https", "ftp", ""]),
              st.text(max_size=15), st.text(max_size=6)),
))
def test_any_ollama_host_is_a_usable_url_or_one_readable_line(host: str) -> None:
    """Never an exception other than ``ValueError``, never a URL httpx refuses later."""
    import httpx

    try:
        url = base_url(host)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    parsed = httpx.URL(url)
    assert parsed.scheme in {"http", "https"} and parsed.host


def test_the_embedded_engine_waits_as_long_as_it_works_unless_told_otherwise() -> None:
    from offyai_tui.commands.guard import timeout_for
    from offyai_tui.engines.llamacpp import LlamaCppEngine

    server = OllamaEngine(Settings())
    local = LlamaCppEngine(Settings())
    assert timeout_for(server, None, 120.0) == 120.0
    assert timeout_for(local, None, 120.0) == 0.0  # a long prompt on a CPU is not a stall
    assert timeout_for(local, 30.0, 120.0) == 30.0 and timeout_for(server, 0.0, 120.0) == 0.0
