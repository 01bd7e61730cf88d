"""Config parsing: defaults, warnings for unknown keys, one clear line for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from offyai_tui.settings.config import ConfigError, Settings, load_settings, parse_settings


def test_missing_file_gives_defaults(offyai_home: Path) -> None:
    settings = load_settings()
    assert settings == Settings()
    assert settings.ollama.host == "127.0.0.1:11434"


def test_sections_and_endpoints_are_read() -> None:
    settings = parse_settings(
        """
        [engine]
        default = "openai"
        [ollama]
        host = "10.0.0.5:11434"
        stall_timeout = 5
        [[openai]]
        name = "vllm"
        url = "http://127.0.0.1:8000/v1"
        api_key_env = "VLLM_KEY"
        [keys]
        stop = "ctrl+c"
        """
    )
    assert settings.engine.default == "openai"
    assert settings.ollama.stall_timeout == 5.0
    assert settings.openai[0].name == "vllm" and settings.openai[0].api_key_env == "VLLM_KEY"
    assert settings.keys == {"stop": "ctrl+c"}


def test_unknown_keys_warn_but_load() -> None:
    settings = parse_settings('[ollama]\nhots = "x"\n[nonsense]\na = 1\n')
    assert "config: unknown key ollama.hots ignored" in settings.warnings
    assert "config: unknown key nonsense ignored" in settings.warnings
    assert settings.ollama.host == "127.0.0.1:11434"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[ollama]\nhost = 5\n", "ollama.host: expected str, got int 5"),
        ('[llamacpp]\nn_ctx = "big"\n', "llamacpp.n_ctx: expected int"),
        ("[rag]\ntop_k = 0\n", "rag.top_k must be positive"),
        ('[engine]\ndefault = "cloud"\n', "engine.default must be auto"),
        ("[ui]\ntheme = true\n", "ui.theme: expected str, got a boolean"),
        ("[[openai]]\nurl = 3\n", "openai[0].url"),
        ("not toml ===", "not valid TOML"),
    ],
)
def test_bad_values_name_the_key(text: str, fragment: str) -> None:
    """Strict (writers of the file): the first bad value is one line naming the key."""
    with pytest.raises(ConfigError) as info:
        parse_settings(text, "config.toml", strict=True)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[ollama]\nhost = 5\n", "ollama.host: expected str, got int 5"),
        ('[llamacpp]\nn_ctx = "big"\n', "llamacpp.n_ctx: expected int"),
        ("[rag]\ntop_k = 0\n", "rag.top_k must be positive"),
        ('[engine]\ndefault = "cloud"\n', "engine.default must be auto"),
        ("[chat]\ntemperature = nan\n", "chat.temperature must be between 0 and 2, got nan"),
        ("[chat]\ntemperature = -5\n", "chat.temperature must be between 0 and 2"),
        ("engine = 5\n", "engine: expected a table"),
        ("not toml ===", "not valid TOML"),
    ],
)
def test_a_bad_value_is_one_warning_and_the_default_is_kept(text: str, fragment: str) -> None:
    """The app and the CLI: one bad value never stops them; the key is named."""
    settings = parse_settings(text, "config.toml")
    assert len(settings.warnings) == 1, settings.warnings
    assert fragment in settings.warnings[0]
    assert "\n" not in settings.warnings[0]
    defaults = Settings()
    assert (settings.engine, settings.ollama, settings.llamacpp, settings.chat, settings.rag) == (
        defaults.engine, defaults.ollama, defaults.llamacpp, defaults.chat, defaults.rag)


def test_env_overrides_ollama_host(offyai_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = offyai_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[ollama]\nhost = "127.0.0.1:1"\n')
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9999")
    assert load_settings().ollama.host == "127.0.0.1:9999"


def test_chat_temperature_is_unset_unless_the_file_sets_it() -> None:
    """Unset, nothing is sent and the model's own temperature applies; a value out of
    range is one warning and stays unset (never a made-up default)."""
    assert Settings().chat.temperature is None
    assert parse_settings("[chat]\nmode = \"coder\"\n").chat.temperature is None
    assert parse_settings("[chat]\ntemperature = 0.3\n").chat.temperature == 0.3
    assert parse_settings("[chat]\ntemperature = 1\n").chat.temperature == 1.0
    settings = parse_settings("[chat]\ntemperature = 5\n")
    assert settings.chat.temperature is None
    assert settings.warnings == ["config: chat.temperature must be between 0 and 2, "
                                 "got 5.0; left unset (the model's own temperature applies)"]
    with pytest.raises(ConfigError, match="chat.temperature: expected float"):
        parse_settings('[chat]\ntemperature = "hot"\n', strict=True)
