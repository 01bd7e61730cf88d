"""``offyai models``, ``pull`` and ``rm`` against the Ollama stand-in and the bundled GGUFs."""

from __future__ import annotations

import json

import pytest

from offyai_tui.__main__ import main
from offyai_tui.hw.speedlog import SpeedLog, SpeedRun
from offyai_tui.settings import locations
from offyai_tui.util import fileio


@pytest.fixture
def ollama_env(ollama_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OLLAMA_HOST", ollama_server)
    monkeypatch.setenv("COLUMNS", "220")  # Rich tables: one line per model
    return ollama_server


def test_models_lists_every_engine_with_fit_and_speed(
    ollama_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    header = lines[0]
    assert header.split() == [
        "NAME", "ENGINE", "FAMILY", "PARAMS", "QUANT", "SIZE", "CONTEXT", "CAPS", "LOADED",
        "FIT", "SPEED",
    ]  # fmt: skip
    ollama = next(line for line in lines if line.startswith("smollm2:135m "))
    assert "ollama" in ollama and "8k" in ollama and "tok/s" in ollama
    local = next(line for line in lines if line.startswith("smollm2-135m-instruct "))
    assert "llama.cpp" in local and "Q4_1" in local
    # Piped: rows only on stdout, the notes on stderr.
    assert "fit and speed:" in captured.err and "fit and speed:" not in captured.out


def test_piped_models_print_whole_names_in_aligned_columns(
    ollama_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")  # a pipe has no width: nothing may be cut to fit one
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split("  ")[0].strip() for line in lines[1:]]
    assert "smollm2-135m-instruct" in names and "smollm2:135m" in names
    assert not any("…" in line for line in lines)
    fit_at = lines[0].index("FIT")
    assert all(line[fit_at - 2 : fit_at] == "  " for line in lines[1:] if len(line) > fit_at)


def test_models_json_has_raw_figures_estimates_and_measured_runs(
    ollama_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    SpeedLog().record(SpeedRun("smollm2:135m", 41.5, engine="ollama", completion_tokens=30))
    assert main(["models", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_ctx"] == 4096 and doc["machine"]
    by_name = {m["name"]: m for m in doc["models"]}
    ollama = by_name["smollm2:135m"]
    assert ollama["engine"] == "ollama" and ollama["size_bytes"] > 0
    low, high = ollama["tokens_per_s"]
    assert 0 < low < high
    assert ollama["measured"]["median_tokens_per_s"] == 41.5
    assert ollama["measured"]["runs"] == 1
    local = by_name["smollm2-135m-instruct"]
    assert local["fit"] == "cpu"  # the embedded engine never offloads
    assert local["measured"] is None


def test_models_says_why_a_gguf_cannot_be_used(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = fileio.ensure_private_dir(locations.models_dir())
    (folder / "broken.gguf").write_text("not a model at all")
    assert main(["models", "--engine", "llamacpp"]) == 0
    captured = capsys.readouterr()
    row = next(line for line in captured.out.splitlines() if line.startswith("broken"))
    assert "unreadable" in row
    err = captured.err.splitlines()
    reason = next(line for line in err if line.startswith("cannot use broken"))
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
