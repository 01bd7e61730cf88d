"""Slash commands: typed results, validation, and readable errors."""

from __future__ import annotations

import pytest

from offyai_tui.chat import ConversationStore, TokenCounter, slash
from offyai_tui.chat.slash import (
    Clear,
    Help,
    InvalidCommand,
    Prompt,
    SetParameter,
    SetSystem,
    Show,
)
from offyai_tui.settings.config import ChatSettings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", Prompt("hello")),
        ("/usr/bin is a folder?", Prompt("/usr/bin is a folder?")),
        ("//help is not a command", Prompt("/help is not a command")),
        ("/clear", Clear()),
        ("  /CLEAR  ", Clear()),
        ("/show", Show("all")),
        ("/show parameters", Show("parameters")),
        ("/show info", Show("model")),
        ("/show system", Show("system")),
        ("/set system You are terse.", SetSystem("You are terse.")),
        ('/set system """Line one\nline two"""', SetSystem("Line one\nline two")),
        ("/set system\nmulti-line\nprompt", SetSystem("multi-line\nprompt")),
        ("/set parameter temperature 0.2", SetParameter("temperature", 0.2)),
        ("/set parameter num_ctx 8192", SetParameter("num_ctx", 8192)),
        ("/set parameter top_p 1", SetParameter("top_p", 1.0)),
        ("/set parameter top_k 40", SetParameter("top_k", 40)),
        ("/set parameter seed -1", SetParameter("seed", -1)),
        ("/set parameter num_predict 32", SetParameter("num_predict", 32)),
    ],
)
def test_parse(text: str, expected: object) -> None:
    result = slash.parse(text)
    assert result == expected
    if isinstance(expected, SetParameter):
        assert type(result.value) is type(expected.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("/foo", "unknown command /foo; try /help"),
        ("/shwo", "did you mean /show?"),
        ("/clear now", "/clear takes no arguments"),
        ("/show everything", "unknown /show topic"),
        ("/set", "usage: /set system TEXT, /set parameter NAME VALUE or /set think"),
        ("/set system", "usage: /set system TEXT"),
        ("/set parameter temperature", "usage: /set parameter NAME VALUE"),
        ("/set parameter temperature hot", "temperature must be a number, got 'hot'"),
        ("/set parameter temperature 3", "temperature must be between 0 and 2, got 3.0"),
        ("/set parameter top_p 1.5", "top_p must be between 0 and 1"),
        ("/set parameter num_ctx 12.5", "num_ctx must be a whole number"),
        ("/set parameter num_ctx 16", "num_ctx must be between 128 and 1048576"),
        ("/set parameter num_predict 0", "num_predict must be -1 (no limit) or at least 1"),
        ("/set parameter top_k -3", "top_k must be between 0"),
        ("/set parameter tfs_z 0.9", "unknown parameter 'tfs_z'; known: temperature"),
        ("/set parameter temperature nan", "temperature must be between 0 and 2"),
    ],
)
def test_invalid_commands_explain_themselves(text: str, fragment: str) -> None:
    result = slash.parse(text)
    assert isinstance(result, InvalidCommand)
    assert fragment in result.message and "\n" not in result.message


def test_help() -> None:
    for text in ("/help", "/?"):
        result = slash.parse(text)
        assert isinstance(result, Help) and "/set parameter NAME VALUE" in result.text
    listing = slash.parse("/set parameter")
    assert isinstance(listing, Help) and "num_ctx" in listing.text


async def test_show_text(store: ConversationStore) -> None:
    conv = store.create(model="smollm2", mode="coder")
    conv.add_user("hi")
    conv.set_parameter("top_k", 20)
    await conv.plan_context(TokenCounter())
    text = slash.show_text(Show("all"), conv)
    assert "Model: smollm2" in text and "Mode:  Coder" in text
    assert f"{'temperature':<17} 0.2  (mode Coder)" in text
    assert f"{'top_k':<17} 20  (/set)" in text
    assert "Context:" in text and "estimated" in text
    conv.set_system("Be brief.")
    assert slash.show_text(Show("system"), conv) == "System prompt (/set system):\nBe brief."


def test_show_parameters_names_a_model_files_own_sampling(store: ConversationStore) -> None:
    """What the embedded engine runs with where the conversation sets nothing (its
    ``sampling_defaults``: Ollama's, then the GGUF's ``general.sampling.*``) is shown
    with where each value comes from, and ``/set`` still wins."""
    conv = store.create(model="smol-advised", mode="default")
    conv.set_parameter("top_k", 5)
    defaults = {"temperature": (0.6, "model file"), "top_k": (20, "model file"),
                "top_p": (0.9, "default")}
    text = slash.show_text(Show("parameters"), conv, engine_defaults=defaults)
    assert f"{'top_p':<17} 0.9  (default)" in text
    assert f"{'top_k':<17} 5  (/set)" in text
    assert f"{'temperature':<17} 0.6  (model file)" in text


def test_show_parameters_keeps_the_model_files_temperature_unless_config_sets_one(
    store: ConversationStore,
) -> None:
    """An unset ``chat.temperature`` hides nothing: the model file's value is what runs."""
    conv = store.create(model="smol-advised", mode="default")
    defaults = {"temperature": (0.6, "model file"), "top_p": (0.9, "default")}
    text = slash.show_text(Show("parameters"), conv, ChatSettings(), defaults)
    assert f"{'temperature':<17} 0.6  (model file)" in text
    text = slash.show_text(Show("parameters"), conv, ChatSettings(temperature=0.3), defaults)
    assert f"{'temperature':<17} 0.3  (config)" in text
