"""Recording a finished answer: speeds, engine, model, size and where it ran.

The Ollama-protocol stand-in (``tests/ollama_server.py``) answers over real HTTP,
``/api/ps`` included; the embedded engine lists the bundled GGUFs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from offyai_tui.engines.base import ChatOptions, ChatStats, Done, Message
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.hw.fit import ModelShape
from offyai_tui.hw.speedlog import SpeedLog
from offyai_tui.manage.speed_record import placement_of, record_answer, stats_from_dict
from offyai_tui.settings.config import Settings
from tests.ollama_server import CHAT_MODEL


def test_placement_from_ollamas_size_and_size_vram() -> None:
    assert placement_of(4_000, 4_000) == "vram"
    assert placement_of(4_000, 0) == "ram"
    assert placement_of(4_000, 2_500) == "partial"
    assert placement_of(0, 0) == ""


def test_prompt_speed_is_recorded_and_stopped_answers_are_not(tmp_path: Path) -> None:
    log = SpeedLog(tmp_path / "speedlog.jsonl")
    stats = ChatStats(model="m", prompt_tokens=300, completion_tokens=40, ttft_s=0.5,
                      tokens_per_s=20.0)  # fmt: skip
    assert log.record_stats(stats, engine="ollama", size_bytes=10, placement="vram")
    (run,) = log.runs("m")
    assert run.prompt_tokens_per_s == 600.0
    assert log.measured("m").prompt_median_tps == 600.0
    assert log.measured("m").label() == "measured 20.0 tok/s (1 run; prompt 600 tok/s)"
    stopped = ChatStats(model="m", completion_tokens=40, tokens_per_s=5.0, done_reason="cancelled")
    assert not log.record_stats(stopped)
    assert len(log.runs("m")) == 1


def test_stats_round_trip_through_a_transcript_dict() -> None:
    stats = ChatStats(model="m", prompt_tokens=3, completion_tokens=9, ttft_s=0.1, total_s=1.0,
                      tokens_per_s=9.0)  # fmt: skip
    raw = {**stats.__dict__, "added_later": 1}
    assert stats_from_dict(raw) == stats


async def test_an_ollama_answer_is_recorded_with_the_placement_api_ps_reports(
    ollama_engine: OllamaEngine, tmp_path: Path
) -> None:
    done = None
    messages = [Message("user", "Tell me a story about a lighthouse keeper.")]
    async for event in ollama_engine.stream_chat(messages, ChatOptions(model=CHAT_MODEL)):
        if isinstance(event, Done):
            done = event.stats
    assert done is not None and done.completion_tokens >= 8
    log = SpeedLog(tmp_path / "speedlog.jsonl")
    assert await record_answer(ollama_engine, done, log)
    (run,) = log.runs(CHAT_MODEL)
    assert run.engine == "ollama"
    assert run.placement == "ram"  # the stand-in reports size_vram 0: all on the CPU
    listed = {m.name: m.size_bytes for m in await ollama_engine.list_models()}
    assert run.size_bytes == listed[CHAT_MODEL] > 0
    assert run.tokens_per_s == done.tokens_per_s


async def test_the_embedded_engine_is_recorded_on_the_cpu(tmp_path: Path) -> None:
    engine = LlamaCppEngine(Settings())
    try:
        name = await engine.default_model()
        stats = ChatStats(model=name, prompt_tokens=20, completion_tokens=16, ttft_s=0.2,
                          tokens_per_s=40.0)  # fmt: skip
        log = SpeedLog(tmp_path / "speedlog.jsonl")
        assert await record_answer(engine, stats, log)
        (run,) = log.runs(name)
        assert (run.engine, run.placement) == ("llamacpp", "ram")
        assert run.size_bytes > 0
    finally:
        await engine.aclose()


async def test_an_unreachable_engine_never_breaks_the_answer(tmp_path: Path) -> None:
    from tests.ollama_fixtures import ollama_settings

    engine = OllamaEngine(ollama_settings("127.0.0.1:9"))  # nothing listens on port 9
    try:
        stats = ChatStats(model="x", completion_tokens=16, tokens_per_s=10.0)
        log = SpeedLog(tmp_path / "speedlog.jsonl")
        assert await record_answer(engine, stats, log)
        (run,) = log.runs("x")
        assert (run.placement, run.size_bytes) == ("", 0)
    finally:
        await engine.aclose()


def test_calibration_uses_the_same_engines_runs(tmp_path: Path) -> None:
    from offyai_tui.hw.detect import GiB
    from offyai_tui.hw.hardware import Hardware, assess
    from offyai_tui.hw.speedlog import SpeedRun

    hw = Hardware("Test CPU", 4, 8, 32 * GiB, 32 * GiB, system="Linux", machine="x86_64")
    log = SpeedLog(tmp_path / "speedlog.jsonl")
    for engine, tps in (("llamacpp", 5.0), ("ollama", 20.0)):
        log.record(SpeedRun("big:7b", tps, engine=engine, size_bytes=2 * 10**9, placement="ram"))
    shape = ModelShape(n_layers=32, n_kv_heads=8, key_length=128, value_length=128,
                       weights_bytes=4 * 10**9, n_heads=32)  # fmt: skip
    embedded = assess(shape, hw, model="other", engine="llamacpp", engine_kind="llamacpp", log=log)
    ollama = assess(shape, hw, model="other", engine="ollama", engine_kind="ollama", log=log)
    assert embedded.speed.basis == ollama.speed.basis == "calibrated by runs on this machine"
    # 10 GB/s measured for the embedded engine, 40 GB/s for Ollama: 4 GB of weights.
    assert ollama.speed.high_tps == pytest.approx(40e9 * 1.15 / 4e9)
    assert embedded.speed.high_tps < 10e9 * 1.15 / 4e9 < ollama.speed.low_tps


async def test_a_run_is_logged_under_the_name_the_model_list_uses(
    private_ollama_server: str, tmp_path: Path
) -> None:
    """Asked as ``aliasmodel`` (no tag), the run belongs to the listed ``aliasmodel:latest``."""
    from tests.ollama_fixtures import ollama_settings

    engine = OllamaEngine(ollama_settings(private_ollama_server))
    try:
        async for _ in engine.pull("aliasmodel"):
            pass
        listed = {m.name: m.size_bytes for m in await engine.list_models()}
        assert "aliasmodel:latest" in listed
        stats = ChatStats(model="aliasmodel", completion_tokens=16, tokens_per_s=10.0)
        log = SpeedLog(tmp_path / "speedlog.jsonl")
        assert await record_answer(engine, stats, log)
        (run,) = log.runs()
        assert (run.model, run.size_bytes) == ("aliasmodel:latest", listed["aliasmodel:latest"])
    finally:
        await engine.aclose()
