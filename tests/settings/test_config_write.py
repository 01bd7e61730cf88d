"""Writing settings back to config.toml: comments survive, bad edits are refused, 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from offyai_tui.settings import locations
from offyai_tui.settings.config import load_settings
from offyai_tui.settings.config_write import (
    ConfigWriteError,
    set_config_value,
    set_config_values,
    update_text,
)

ORIGINAL = """\
# my settings
[chat]
mode = "coder"   # keep this comment
model = "old"

[[openai]]
name = "vllm"
url = "http://127.0.0.1:8000/v1"
"""


def test_creates_the_file_private_when_missing(offyai_home: Path) -> None:
    path = set_config_value("chat.model", "smollm2:135m")
    assert path == locations.config_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings().chat.model == "smollm2:135m"


def test_replaces_a_key_and_keeps_everything_else() -> None:
    text = update_text(ORIGINAL, {"chat.model": 'say "hi" \\ there'})
    assert 'model = "say \\"hi\\" \\\\ there"' in text
    assert "# my settings" in text and "# keep this comment" in text
    assert text.count("model =") == 1
    assert '[[openai]]\nname = "vllm"' in text


def test_adds_a_key_inside_its_section_not_after_a_later_table() -> None:
    text = update_text(ORIGINAL, {"chat.temperature": 0.2, "engine.default": "ollama"})
    chat_part = text.split("[[openai]]")[0]
    assert "temperature = 0.2" in chat_part
    assert text.rstrip().endswith('[engine]\ndefault = "ollama"')


def test_several_keys_in_one_atomic_write(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(ORIGINAL)
    set_config_values({"rag.embedding_engine": "llamacpp", "llamacpp.embedding_model": "x"}, path)
    settings = load_settings(path)
    assert (settings.rag.embedding_engine, settings.llamacpp.embedding_model) == ("llamacpp", "x")
    assert settings.chat.mode == "coder"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_an_edit_giving_an_invalid_config_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(ORIGINAL)
    with pytest.raises(ConfigWriteError, match=r"engine\.default must be"):
        set_config_value("engine.default", "nonsense", path)
    assert path.read_text() == ORIGINAL


def test_a_key_set_as_a_dotted_key_elsewhere_is_not_duplicated() -> None:
    with pytest.raises(ConfigWriteError, match="edit it by hand"):
        update_text('chat.model = "a"\n', {"chat.model": "b"})


def test_a_broken_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[chat\nmodel = 1\n")
    with pytest.raises(ConfigWriteError, match="not valid TOML"):
        set_config_value("chat.model", "b", path)
    assert path.read_text() == "[chat\nmodel = 1\n"


def test_bad_key_names_are_refused() -> None:
    with pytest.raises(ConfigWriteError, match=r"section\.key"):
        update_text("", {"model": "x"})
    with pytest.raises(ConfigWriteError, match=r"section\.key"):
        update_text("", {'chat.model"] = 1 #': "x"})
