"""What the embedded engine asks of llama.cpp, as the worker reads it back.

The worker reports its effective parameters (threads, context, KV cache, flash
attention, chat format, sampling keywords) with every answer, so these tests
check what reached llama.cpp, not what the parent meant to send.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import gguf
import pytest

from offyai_tui.chat import Conversation, TokenCounter, slash
from offyai_tui.chat.params import PARAMETERS, apply_params
from offyai_tui.engines import bundled
from offyai_tui.engines.base import ChatEvent, ChatOptions, Done, Message, TextDelta
from offyai_tui.engines.llamacpp import LlamaCppEngine, physical_cores
from offyai_tui.engines.llamacpp_answer import CONTEXT_FULL_NOTE
from offyai_tui.engines.llamacpp_setup import (
    BARRIER_SPIN,
    batch_threads_for,
    prompt_threads,
    quiet_barriers,
)
from offyai_tui.engines.sampling import OLLAMA_DEFAULTS, model_file_sampling
from offyai_tui.settings.config import Settings
from tests.engines.gguf_edit import rewrite_gguf

SMOL = bundled.SMOLLM2
HELLO = [Message("system", "Be brief."), Message("user", "Say hello.")]
CAPITAL = [Message("user", "What is the capital of France? Answer with one word.")]

# One value per /set parameter name that differs from every default, and the
# keyword (or effective field) it must arrive as.
SET_VALUES = {
    "temperature": ("0.3", ("sampling", "temperature"), 0.3),
    "top_p": ("0.5", ("sampling", "top_p"), 0.5),
    "top_k": ("7", ("sampling", "top_k"), 7),
    "min_p": ("0.2", ("sampling", "min_p"), 0.2),
    "typical_p": ("0.7", ("sampling", "typical_p"), 0.7),
    "repeat_penalty": ("1.3", ("sampling", "repeat_penalty"), 1.3),
    "repeat_last_n": ("32", ("repeat_last_n",), 32),
    "presence_penalty": ("0.5", ("sampling", "presence_penalty"), 0.5),
    "frequency_penalty": ("0.25", ("sampling", "frequency_penalty"), 0.25),
    "mirostat": ("2", ("sampling", "mirostat_mode"), 2),
    "mirostat_tau": ("3.5", ("sampling", "mirostat_tau"), 3.5),
    "mirostat_eta": ("0.2", ("sampling", "mirostat_eta"), 0.2),
    "seed": ("99", ("sampling", "seed"), 99),
    "num_predict": ("3", ("sampling", "max_tokens"), 3),
    "num_ctx": ("512", ("n_ctx",), 512),
    "num_thread": ("2", ("n_threads",), 2),
    "stop": ('"###" "User:"', ("sampling", "stop"), ["###", "User:"]),
}


def test_the_table_above_covers_every_parameter() -> None:
    assert set(SET_VALUES) == set(PARAMETERS)


def test_prompt_threads_keep_to_free_cores_or_take_all_when_none_is_free() -> None:
    assert prompt_threads(cores=4, busy=0.3, logical=8) == 4
    assert prompt_threads(cores=2, busy=0.4, logical=2) == 2
    assert prompt_threads(cores=2, busy=0.7, logical=2) == 2
    assert prompt_threads(cores=2, busy=1.2, logical=2) == 1  # another program has a core
    assert prompt_threads(cores=4, busy=2.0, logical=4) == 2
    assert prompt_threads(cores=2, busy=1.9, logical=2) == 2  # none free: a share of each
    assert prompt_threads(cores=2, busy=4.5, logical=2) == 2


def test_set_thread_counts_are_not_adapted_and_short_prompts_are() -> None:
    long = [{"role": "user", "content": "x" * 5000}]
    short = [{"role": "user", "content": "hi"}]
    assert batch_threads_for({"n_threads_batch": 2, "messages": long}, 1) == 2  # configured
    assert batch_threads_for({"n_threads_batch": 2, "messages": short}, 1) == 2
    assert batch_threads_for({"n_threads_batch": 4, "adapt_threads": True,
                              "messages": short}, 3) >= 3  # never below generation's


def test_barrier_threads_sleep_soon_unless_the_user_said_otherwise() -> None:
    env: dict[str, str] = {}
    assert quiet_barriers(env) == BARRIER_SPIN and env == {"GOMP_SPINCOUNT": BARRIER_SPIN}
    own = {"GOMP_SPINCOUNT": "300000"}
    assert quiet_barriers(own) == "300000" and own == {"GOMP_SPINCOUNT": "300000"}
    policy = {"OMP_WAIT_POLICY": "active"}
    assert quiet_barriers(policy) == "OMP_WAIT_POLICY=active"
    assert "GOMP_SPINCOUNT" not in policy


def test_model_file_sampling_is_validated_and_rounded() -> None:
    found = model_file_sampling({
        "general.sampling.temp": 0.699999988079071,  # float32 0.7
        "general.sampling.top_k": 20,
        "general.sampling.top_p": 7.0,  # out of range: ignored
        "general.sampling.min_p": float("nan"),
        "general.sampling.penalty_repeat": True,
        "general.sampling.penalty_last_n": 128,
        "general.sampling.sequence": "edkypmxt",
    })  # fmt: skip
    assert found == {"temperature": 0.7, "top_k": 20, "repeat_last_n": 128}



def _settings(**llamacpp: object) -> Settings:
    settings = Settings()
    settings.llamacpp.n_threads = 1
    settings.llamacpp.n_threads_batch = 2
    for key, value in llamacpp.items():
        setattr(settings.llamacpp, key, value)
    return settings


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaCppEngine]:
    engine = LlamaCppEngine(_settings())
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def model_copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """SmolLM2 without its template, with a template that fails, with sampling advice."""
    folder = tmp_path_factory.mktemp("gguf")
    source = bundled.smollm2_path()
    template = "tokenizer.chat_template"
    string, f32, i32 = (gguf.GGUFValueType.STRING, gguf.GGUFValueType.FLOAT32,
                        gguf.GGUFValueType.INT32)  # fmt: skip
    return {
        "bare": rewrite_gguf(source, folder / "smol-bare.gguf", drop=[template]),
        "broken": rewrite_gguf(
            source, folder / "smol-broken.gguf",
            add={template: ("{{ raise_exception('no system role') }}", string)},
        ),
        "advised": rewrite_gguf(
            source, folder / "smol-advised.gguf",
            add={"general.sampling.temp": (0.6, f32), "general.sampling.top_k": (20, i32),
                 "general.sampling.penalty_repeat": (1.2, f32)},
        ),
    }  # fmt: skip


async def _answer(
    engine: LlamaCppEngine, messages: Sequence[Message], options: ChatOptions
) -> tuple[str, Done]:
    events: list[ChatEvent] = [e async for e in engine.stream_chat(messages, options)]
    done = events[-1]
    assert isinstance(done, Done), done
    return "".join(e.text for e in events if isinstance(e, TextDelta)), done


@pytest.mark.slow
async def test_worker_reports_threads_context_cache_and_ollama_sampling(
    engine: LlamaCppEngine,
) -> None:
    await _answer(engine, HELLO, ChatOptions(num_predict=4))
    seen = engine.last_effective
    assert seen["n_threads"] == 1  # generation keeps its thread count
    assert seen["n_threads_batch"] == 2  # prompts are read on every core
    assert seen["n_ctx"] == 4096
    assert (seen["kv_cache_type_k"], seen["kv_cache_type_v"]) == ("f16", "f16")
    assert seen["flash_attention"] == "off"
    assert seen["chat_format"] == "the model file's template"
    assert seen["barrier_spin"] == BARRIER_SPIN  # set before llama.cpp loaded
    assert seen["repeat_last_n"] == OLLAMA_DEFAULTS["repeat_last_n"]
    sampling = dict(seen["sampling"])
    assert sampling.pop("max_tokens") == 4
    assert sampling == {k: v for k, v in OLLAMA_DEFAULTS.items() if k != "repeat_last_n"}


@pytest.mark.slow
async def test_prompt_threads_default_to_every_physical_core() -> None:
    engine = LlamaCppEngine(_settings(n_threads_batch=0))
    try:
        assert engine.n_threads_batch == max(1, min(physical_cores(), os.cpu_count() or 1))
        await _answer(engine, HELLO, ChatOptions(num_predict=2))  # a short prompt too
    finally:
        engine.close()
    seen = engine.last_effective
    assert seen["n_threads"] == 1
    assert 1 <= seen["n_threads_batch"] <= engine.n_threads_batch  # busy cores left out


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SET_VALUES))
async def test_each_set_parameter_reaches_llama_cpp(engine: LlamaCppEngine, name: str) -> None:
    text, where, expected = SET_VALUES[name]
    command = slash.parse(f"/set parameter {name} {text}")
    assert isinstance(command, slash.SetParameter), command
    options = apply_params(ChatOptions(num_predict=3), {name: command.value})
    if name == "num_ctx":
        options.num_ctx = int(command.value)  # the context plan sends it in the chat
    await _answer(engine, HELLO, options)
    value = engine.last_effective
    for key in where:
        value = value[key]
    assert value == expected


@pytest.mark.slow
@pytest.mark.parametrize(("kv_type", "flash"), [("q8_0", "auto"), ("q4_0", "auto"),
                                                 ("f16", "on")])
async def test_kv_cache_type_and_flash_attention_reach_llama_cpp(kv_type: str, flash: str) -> None:
    engine = LlamaCppEngine(_settings(kv_cache_type=kv_type, flash_attention=flash))
    try:
        text, _ = await _answer(engine, CAPITAL, ChatOptions(num_predict=8, temperature=0))
    finally:
        engine.close()
    seen = engine.last_effective
    assert (seen["kv_cache_type_k"], seen["kv_cache_type_v"]) == (kv_type, kv_type)
    assert seen["flash_attention"] == "on"
    assert seen["notes"] == []
    assert "Paris" in text


@pytest.mark.slow
async def test_sampling_layers_defaults_model_file_config_request(
    model_copies: dict[str, Path],
) -> None:
    path = str(model_copies["advised"])
    engine = LlamaCppEngine(_settings())
    try:
        info = await engine.model_info(path)
        name = info.name
        assert "temperature      0.6" in info.details["parameters"]  # the Models screen shows it
        shown = await engine.sampling_defaults(path)
        assert shown["temperature"] == (0.6, "model file")
        assert shown["top_k"] == (20, "model file")
        assert shown["repeat_penalty"] == (1.2, "model file")
        assert shown["top_p"] == (0.9, "default")
        engine.settings.llamacpp.parameters = {name: {"top_k": 10, "min_p": 0.1}}
        assert (await engine.sampling_defaults(path))["top_k"] == (10, "per-model config")
        await _answer(engine, HELLO, ChatOptions(model=path, num_predict=3, top_p=0.5))
    finally:
        engine.close()
    sampling = engine.last_effective["sampling"]
    assert (sampling["temperature"], sampling["repeat_penalty"]) == (0.6, 1.2)
    assert (sampling["top_k"], sampling["min_p"], sampling["top_p"]) == (10, 0.1, 0.5)


@pytest.mark.slow
async def test_a_chat_with_default_settings_runs_and_shows_the_model_files_temperature(
    model_copies: dict[str, Path],
) -> None:
    """The chat's own path (conversation, default ``[chat]``, ``/show parameters``): the
    GGUF's ``general.sampling.temp`` is what llama.cpp gets and what the user is shown."""
    path = str(model_copies["advised"])
    settings = _settings()
    conv = Conversation("advised", writer=None, ephemeral=True, model=path)
    conv.add_user("Say hello.")
    engine = LlamaCppEngine(settings)
    try:
        handle = await conv.start_reply(TokenCounter(), settings=settings.chat)
        handle.options.num_predict = 3
        await _answer(engine, handle.messages, handle.options)
        shown = slash.show_text(slash.Show("parameters"), conv, settings.chat,
                                await engine.sampling_defaults(path))
    finally:
        engine.close()
    assert engine.last_effective["sampling"]["temperature"] == 0.6
    assert f"{'temperature':<17} 0.6  (model file)" in shown
    assert f"{'top_p':<17} 0.9  (default)" in shown


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (SMOL, "the model file's template"),
        (bundled.GEMMA3, "gemma (the model file has no template)"),
        ("bare", "chatml (the model file has no template)"),
        ("broken", "chatml (the model file's template failed"),
    ],
)
async def test_chat_template_of_the_file_else_a_named_format(
    engine: LlamaCppEngine, model_copies: dict[str, Path], model: str, expected: str
) -> None:
    target = str(model_copies[model]) if model in model_copies else model
    text, _ = await _answer(
        engine, CAPITAL, ChatOptions(model=target, num_predict=12, temperature=0)
    )
    assert engine.last_effective["chat_format"].startswith(expected)
    for marker in ("<|im_start|>", "<|im_end|>", "[INST]", "<start_of_turn>", "<<SYS>>"):
        assert marker not in text
    if model != bundled.GEMMA3:  # a 270M base model knows no capitals
        assert "Paris" in text, text


@pytest.mark.slow
async def test_a_full_context_ends_the_answer_with_length_and_a_note(
    engine: LlamaCppEngine,
) -> None:
    essay = [Message("user", "Write a very long essay about the history of computers.")]
    text, done = await _answer(engine, essay, ChatOptions(num_ctx=160, temperature=0))
    assert done.stats.done_reason == "length"
    assert done.stats.note == CONTEXT_FULL_NOTE
    assert done.stats.prompt_tokens + done.stats.completion_tokens >= 158
    assert text.strip()
    capped = await _answer(engine, essay, ChatOptions(num_ctx=160, num_predict=5))
    assert capped[1].stats.done_reason == "length" and capped[1].stats.note == ""


@pytest.mark.slow
async def test_prewarm_loads_the_model_without_waiting_and_the_answer_uses_it() -> None:
    engine = LlamaCppEngine(_settings())
    try:
        await engine.prewarm(SMOL)  # returns before the model is loaded
        pid = engine.worker_pid
        assert pid is not None
        for _ in range(300):
            if [m.name for m in await engine.loaded()] == [SMOL]:
                break
            await asyncio.sleep(0.1)
        assert [m.name for m in await engine.loaded()] == [SMOL]
        text, _ = await _answer(engine, CAPITAL, ChatOptions(num_predict=8, temperature=0))
        assert engine.worker_pid == pid and "Paris" in text
        await engine.prewarm("no-such-model")  # a bad name is left to the chat to report
    finally:
        engine.close()


@pytest.mark.slow
async def test_start_worker_spawns_without_loading_and_the_answer_uses_it() -> None:
    engine = LlamaCppEngine(_settings())
    try:
        engine.start_worker()  # offyai ask: before the model is known
        pid = engine.worker_pid
        assert pid is not None
        assert await engine.loaded() == []
        text, _ = await _answer(engine, CAPITAL, ChatOptions(num_predict=8, temperature=0))
        assert engine.worker_pid == pid and "Paris" in text
    finally:
        engine.close()
