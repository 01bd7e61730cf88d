"""``offyai models``, ``pull`` and ``rm`` against the Ollama stand-in and the bundled GGUFs."""

from __future__ import annotations

import pytest

from offyai_tui import locations
from offyai_tui.__main__ import main


@pytest.fixture
def ollama_env(ollama_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OLLAMA_HOST", ollama_server)
    monkeypatch.setenv("COLUMNS", "220")  # Rich tables: one line per model
    return ollama_server


def test_models_lists_every_engine_with_fit_and_speed(
    ollama_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if "name" in line and "fit" in line)
    assert all(word in header for word in ("engine", "context", "loaded", "speed"))
    ollama = next(line for line in lines if "smollm2:135m" in line)
    assert "ollama" in ollama and "8k" in ollama and "tok/s" in ollama
    local = next(line for line in lines if "smollm2-135m-instruct" in line)
    assert "llama.cpp" in local and "Q4_1" in local
    assert "fit and speed:" in out


def test_models_says_why_a_gguf_cannot_be_used(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "220")
    folder = locations.ensure_private_dir(locations.models_dir())
    (folder / "broken.gguf").write_text("not a model at all")
    assert main(["models", "--engine", "llamacpp"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.lstrip("│ ").startswith("broken"))
    assert "unreadable" in row
    reason = next(line for line in lines if line.startswith("cannot use broken"))
    assert "GGUF" in reason or "gguf" in reason


def test_pull_prints_progress_then_the_result(
    ollama_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pull", "ui-cli-pull:1b"]) == 0
    out = capsys.readouterr().out
    assert "pulling manifest" in out
    assert out.rstrip().endswith("pulled ui-cli-pull:1b (4.1 MB)")


def test_pull_error_is_ollamas_message_on_one_line(
    ollama_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pull", "bad-model"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (
        "offyai: could not pull 'bad-model': max retries exceeded: unexpected EOF"
    )


def test_pull_on_an_engine_that_cannot(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--engine", "llamacpp", "pull", "mistral"]) == 1
    assert "llama.cpp cannot download models" in capsys.readouterr().err


def test_rm_finds_the_engine_unloads_and_reports_the_space(
    ollama_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pull", "ui-cli-rm:1b"]) == 0
    capsys.readouterr()
    assert main(["rm", "ui-cli-rm:1b"]) == 0
    assert capsys.readouterr().out.strip() == "deleted ui-cli-rm:1b from ollama; freed up to 4.1 MB"
    assert main(["rm", "ui-cli-rm:1b"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("offyai: model 'ui-cli-rm:1b' is not installed; installed: ")


def test_rm_refuses_a_bundled_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--engine", "llamacpp", "rm", "smollm2-135m-instruct"]) == 1
    err = capsys.readouterr().err
    assert "is bundled with OffyAI and cannot be deleted" in err
