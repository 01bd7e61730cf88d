"""What an engine can use, where Ollama says a model is, and ``offyai doctor``'s account."""

from __future__ import annotations

import json

import pytest

from offyai_tui.__main__ import main
from offyai_tui.hw import catalog
from offyai_tui.hw.detect import GiB
from offyai_tui.hw.hardware import GPU, Hardware, assess, describe
from offyai_tui.hw.runtime import embedded_gpu_offload, engine_reach, for_engine

BOX = Hardware(
    "Test CPU", 8, 16, 64 * GiB, 64 * GiB,
    gpus=(GPU("NVIDIA GeForce RTX 4060", 8 * GiB, 8 * GiB),), system="Linux", machine="x86_64",
)  # fmt: skip


def test_the_installed_llama_cpp_python_decides_the_embedded_engines_reach() -> None:
    import llama_cpp

    reach = embedded_gpu_offload()
    assert reach.gpu is False  # the embedded engine never offloads, whatever the build
    if llama_cpp.llama_supports_gpu_offload():
        assert "keeps layers on the CPU" in reach.why
    else:
        assert reach.why == "llama-cpp-python here is a CPU build (no GPU offload)"
    cpu_only, why = for_engine(BOX, "llamacpp")
    assert cpu_only.gpus == () and why == reach.why
    assert engine_reach("ollama").gpu and for_engine(BOX, "ollama")[0] is BOX


def test_ollamas_reported_placement_replaces_the_prediction() -> None:
    shape = catalog.lookup("llama3.1:8b").shape()
    predicted = assess(shape, BOX, engine_kind="ollama")
    assert predicted.fit.kind == "vram"
    size = 6_000_000_000
    half = assess(shape, BOX, engine_kind="ollama", loaded=(size, size // 2))
    assert half.fit.kind == "partial"
    assert half.fit.gpu_layers == 16 and half.fit.n_layers == 32
    assert half.fit.explanation.startswith("loaded by Ollama: 3.0 GB of 6.0 GB on GPU (50%")
    assert half.speed.high_tps < predicted.speed.low_tps
    on_cpu = assess(shape, BOX, engine_kind="ollama", loaded=(size, 0))
    assert on_cpu.fit.kind == "ram" and on_cpu.fit.label == "CPU"


def test_doctor_lines_say_what_was_detected_and_what_was_not() -> None:
    hw = Hardware(
        "Test CPU", 8, 16, 64 * GiB, 64 * GiB, gpus=BOX.gpus, system="Linux",
        found=("nvidia-smi: 1 GPU",), notes=("rocm-smi not found",),
    )  # fmt: skip
    lines = describe(hw, engines=True)
    assert "detected by nvidia-smi: 1 GPU" in lines
    assert "not detected: rocm-smi not found" in lines
    assert lines[-1].startswith("embedded engine CPU only: ")


def test_doctor_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")  # nothing listens: the embedded engine
    main(["--engine", "llamacpp", "doctor", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["engine"]["label"]
    hardware = doc["hardware"]
    assert hardware["physical_cores"] >= 1 and hardware["ram_total_bytes"] > 0
    assert isinstance(hardware["detected"], list) and isinstance(hardware["not_detected"], list)
    assert any(line.startswith("embedded engine ") for line in hardware["lines"])
    assert set(doc["paths"]) >= {"config", "data"}


def test_the_models_screen_hardware_tooltip_says_what_was_detected_and_what_not() -> None:
    from offyai_tui.ui.widgets.models.hardware import hardware_tooltip

    hw = Hardware(
        "Test CPU", 8, 16, 64 * GiB, 64 * GiB, gpus=BOX.gpus, system="Linux",
        found=("nvidia-smi: 1 GPU",), notes=("rocm-smi not found",),
    )  # fmt: skip
    lines = hardware_tooltip(hw, []).splitlines()
    assert lines[1:3] == ["detected by nvidia-smi: 1 GPU", "not detected: rocm-smi not found"]
