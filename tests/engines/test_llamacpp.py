"""The llama.cpp engine with the real bundled models, in real worker processes.

One engine (and so one chat worker and one embedding worker) serves the whole
module; tests that kill or freeze a worker check that the next request starts
a new one, which is the behaviour under test anyway.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from offyai_tui.engines import bundled
from offyai_tui.engines.base import ChatEvent, ChatOptions, Done, ErrorEvent, Message, TextDelta
from offyai_tui.engines.chat_format import chat_format_for
from offyai_tui.engines.errors import (
    BadModelFile,
    ModelNotFound,
    Unsupported,
    WorkerCrashed,
)
from offyai_tui.engines.gguf_info import read_gguf_info
from offyai_tui.engines.llamacpp import LlamaCppEngine, parse_keep_alive
from offyai_tui.engines.llamacpp_client import describe_exit, log_path
from offyai_tui.settings import locations
from offyai_tui.settings.config import Settings
from offyai_tui.util import fileio

pytestmark = pytest.mark.slow

SMOL = bundled.SMOLLM2
STORY = [Message("user", "Write a long story about a dragon who learns to fly.")]
STOP_LIMIT_S = 0.2


def make_settings(**llamacpp: object) -> Settings:
    settings = Settings()
    settings.llamacpp.n_threads = 2
    for key, value in llamacpp.items():
        setattr(settings.llamacpp, key, value)
    return settings


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaCppEngine]:
    engine = LlamaCppEngine(make_settings())
    yield engine
    engine.close()


def opts(**kwargs: object) -> ChatOptions:
    kwargs.setdefault("num_predict", 16)
    kwargs.setdefault("temperature", 0.2)
    kwargs.setdefault("seed", 7)
    return ChatOptions(**kwargs)  # type: ignore[arg-type]


async def chat(
    engine: LlamaCppEngine, messages: Sequence[Message] = STORY, **kwargs: object
) -> list[ChatEvent]:
    return [event async for event in engine.stream_chat(messages, opts(**kwargs))]


def text_of(events: Sequence[ChatEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def final(events: Sequence[ChatEvent]) -> ChatEvent:
    assert events, "no events"
    assert sum(isinstance(e, (Done, ErrorEvent)) for e in events) == 1
    return events[-1]


# -- catalog -------------------------------------------------------------------


async def test_lists_bundled_models_from_their_headers(engine: LlamaCppEngine) -> None:
    models = {m.name: m for m in await engine.list_models()}
    smol = models[SMOL]
    assert (smol.family, smol.quantization, smol.parameter_size) == ("llama", "Q4_1", "135M")
    assert smol.context_length == 8192
    assert smol.capabilities == ("chat",)
    assert smol.size_bytes == bundled.smollm2_path().stat().st_size
    assert smol.details["bundled"] is True
    assert models[bundled.GEMMA3].family == "gemma3"
    minilm = models[bundled.MINILM]
    assert minilm.capabilities == ("embedding",)
    assert minilm.family == "bert"


async def test_user_gguf_listed_and_deletable_bundled_not(engine: LlamaCppEngine) -> None:
    folder = fileio.ensure_private_dir(locations.models_dir())
    (folder / "mine.gguf").symlink_to(bundled.smollm2_path())
    (folder / "broken.gguf").write_text("not a model at all")
    (folder / "readme.txt").write_text("ignored: not *.gguf")
    models = {m.name: m for m in await engine.list_models()}
    assert models["mine"].family == "llama"
    assert models["mine"].details["bundled"] is False
    broken = models["broken"]
    assert broken.capabilities == ()
    assert "is not a GGUF model" in broken.details["error"]
    assert "readme" not in models
    assert await engine.default_model() == SMOL

    events = await chat(engine, model="mine", num_predict=4)
    assert isinstance(final(events), Done)

    with pytest.raises(Unsupported, match="bundled"):
        await engine.delete(SMOL)
    await engine.delete("mine")
    assert not (folder / "mine.gguf").exists()
    assert bundled.smollm2_path().is_file()
    with pytest.raises(ModelNotFound):
        await engine.delete("mine")


async def test_health(engine: LlamaCppEngine) -> None:
    health = await engine.health()
    assert health.ok
    assert health.version


# -- chat ----------------------------------------------------------------------


async def test_streams_real_text_with_sane_stats(engine: LlamaCppEngine) -> None:
    events = await chat(engine, num_predict=16)
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) >= 3
    assert len(text_of(events).split()) >= 3
    done = final(events)
    assert isinstance(done, Done), done
    stats = done.stats
    assert stats.model == SMOL
    assert 20 < stats.prompt_tokens < 80  # system prompt of the template + the question
    assert 0 < stats.completion_tokens <= 16
    assert stats.done_reason in {"stop", "length"}
    assert stats.tokens_per_s > 0
    assert 0 < stats.ttft_s <= stats.total_s


async def test_model_stays_loaded_between_turns(engine: LlamaCppEngine) -> None:
    first = await chat(engine, num_predict=4)
    pid = engine.worker_pid
    assert pid is not None
    history = [*STORY, Message("assistant", text_of(first)), Message("user", "Go on.")]
    second = await chat(engine, history, num_predict=4)
    assert isinstance(final(second), Done)
    assert engine.worker_pid == pid
    assert SMOL in [m.name for m in await engine.loaded()]


async def test_num_predict_and_seed(engine: LlamaCppEngine) -> None:
    one = await chat(engine, num_predict=6, seed=11, temperature=0.9)
    two = await chat(engine, num_predict=6, seed=11, temperature=0.9)
    assert text_of(one) == text_of(two)
    done = final(one)
    assert isinstance(done, Done)
    assert done.stats.completion_tokens <= 6
    if done.stats.completion_tokens == 6:
        assert done.stats.done_reason == "length"


async def test_gemma3_base_model_answers_in_the_gemma_format(engine: LlamaCppEngine) -> None:
    events = await chat(
        engine, [Message("user", "Name a colour.")], model=bundled.GEMMA3, num_predict=8
    )
    done = final(events)
    assert isinstance(done, Done), done
    assert done.stats.model == bundled.GEMMA3
    assert done.stats.completion_tokens > 0
    # BOS + "<start_of_turn>user\nName a colour.<end_of_turn>\n<start_of_turn>model\n" is
    # 13 tokens; the chatml prompt would be 27 and the llama-2 one 11.
    assert done.stats.prompt_tokens == 13
    told = await chat(
        engine,
        [Message("system", "Answer in French."), Message("user", "Name a colour.")],
        model=bundled.GEMMA3,
        num_predict=2,
    )
    told_done = final(told)
    assert isinstance(told_done, Done)
    assert told_done.stats.prompt_tokens > 13  # the system text was kept, not dropped
    assert chat_format_for(read_gguf_info(bundled.gemma3_path())) == "gemma"


async def test_context_too_small_is_an_error_event(engine: LlamaCppEngine) -> None:
    long = [Message("user", "tell me about rivers and mountains " * 40)]
    events = await chat(engine, long, num_ctx=64, num_predict=4)
    error = final(events)
    assert isinstance(error, ErrorEvent)
    assert "too long for its context" in str(error.error)
    assert isinstance(final(await chat(engine, num_predict=2)), Done)  # reloads at full size


async def test_unknown_model_lists_installed(engine: LlamaCppEngine) -> None:
    events = await chat(engine, model="no-such-model")
    error = final(events)
    assert isinstance(error, ErrorEvent)
    assert isinstance(error.error, ModelNotFound)
    assert "no-such-model" in str(error.error)
    assert SMOL in str(error.error)
    assert bundled.MINILM in error.error.installed


async def test_not_gguf_file_is_an_error_event(engine: LlamaCppEngine) -> None:
    folder = fileio.ensure_private_dir(locations.models_dir())
    (folder / "fake.gguf").write_bytes(b"PK\x03\x04 this is a zip file")
    error = final(await chat(engine, model="fake"))
    assert isinstance(error, ErrorEvent)
    assert isinstance(error.error, BadModelFile)
    assert "fake.gguf is not a GGUF model" in str(error.error)


async def test_embedding_model_cannot_chat(engine: LlamaCppEngine) -> None:
    error = final(await chat(engine, model=bundled.MINILM))
    assert isinstance(error, ErrorEvent)
    assert isinstance(error.error, Unsupported)


# -- stop and crashes ----------------------------------------------------------


async def _long_prompt(engine: LlamaCppEngine, tokens: int = 1500) -> list[Message]:
    filler = "The river runs past the old mill and the quiet village at dawn. "
    per_sentence = await engine.count_tokens(filler)
    assert per_sentence
    return [Message("user", filler * (tokens // per_sentence) + "\nSummarize this.")]


async def _cancel_during_prompt(
    engine: LlamaCppEngine, messages: list[Message]
) -> tuple[float, list[ChatEvent]]:
    """Start an answer, cancel its task 0.3 s in; return (stop latency, events seen)."""
    received: list[ChatEvent] = []

    async def consume() -> None:
        async for event in engine.stream_chat(messages, opts(num_ctx=2048, num_predict=8)):
            received.append(event)

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.3)
    assert not task.done()
    cancelled_at = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return time.perf_counter() - cancelled_at, received


async def test_stop_during_prompt_processing(engine: LlamaCppEngine) -> None:
    await chat(engine, [Message("user", "Hi")], num_ctx=2048, num_predict=1)  # warm
    pid = engine.worker_pid
    latency, received = await _cancel_during_prompt(engine, await _long_prompt(engine))
    how = "cancelled in place" if engine.worker_pid == pid else "worker killed"
    print(f"stop latency during prompt processing: {latency * 1000:.1f} ms ({how})")
    assert received == []  # it was still reading the prompt
    assert latency < STOP_LIMIT_S
    assert isinstance(final(await chat(engine, num_predict=2, num_ctx=2048)), Done)


async def test_cancel_is_acknowledged_without_a_kill(
    engine: LlamaCppEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With time to answer, the worker stops by itself: model and cache survive."""
    monkeypatch.setattr(engine, "STOP_GRACE_S", 5.0)
    await chat(engine, [Message("user", "Hi")], num_ctx=2048, num_predict=1)
    pid = engine.worker_pid
    latency, received = await _cancel_during_prompt(engine, await _long_prompt(engine))
    print(f"cancel acknowledged during prompt processing after {latency * 1000:.1f} ms")
    assert received == []
    assert engine.worker_pid == pid

    stream = engine.stream_chat(STORY, opts(num_predict=24, num_ctx=2048))
    assert isinstance(await stream.__anext__(), TextDelta)
    started = time.perf_counter()
    await stream.aclose()
    print(f"cancel acknowledged mid-answer after {(time.perf_counter() - started) * 1000:.1f} ms")
    assert engine.worker_pid == pid
    assert isinstance(final(await chat(engine, num_predict=2, num_ctx=2048)), Done)
    assert engine.worker_pid == pid


async def test_cancelling_a_queued_request_spares_the_running_one(
    engine: LlamaCppEngine,
) -> None:
    await chat(engine, [Message("user", "Hi")], num_ctx=2048, num_predict=1)
    pid = engine.worker_pid
    stream = engine.stream_chat(await _long_prompt(engine), opts(num_ctx=2048, num_predict=4))
    answer = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0.2)
    queued = asyncio.ensure_future(engine.count_tokens("hello"))  # waits behind the answer
    await asyncio.sleep(0.2)
    assert not queued.done()
    started = time.perf_counter()
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert time.perf_counter() - started < STOP_LIMIT_S
    assert engine.worker_pid == pid
    assert not answer.done()  # still reading its prompt, untouched
    answer.cancel()
    await asyncio.gather(answer, return_exceptions=True)
    await stream.aclose()


async def test_stop_mid_answer_by_closing_the_stream(engine: LlamaCppEngine) -> None:
    stream = engine.stream_chat(STORY, opts(num_predict=24))
    first = await stream.__anext__()
    assert isinstance(first, TextDelta)
    started = time.perf_counter()
    await stream.aclose()
    latency = time.perf_counter() - started
    print(f"stop latency mid-answer: {latency * 1000:.1f} ms")
    assert latency < STOP_LIMIT_S
    assert isinstance(final(await chat(engine, num_predict=2)), Done)


async def test_frozen_worker_is_killed_on_stop(engine: LlamaCppEngine) -> None:
    stream = engine.stream_chat(STORY, opts(num_predict=24))
    assert isinstance(await stream.__anext__(), TextDelta)
    pid = engine.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # it can no longer acknowledge a cancel
    started = time.perf_counter()
    await stream.aclose()
    latency = time.perf_counter() - started
    print(f"stop latency with a frozen worker: {latency * 1000:.1f} ms")
    assert latency < STOP_LIMIT_S + 0.05
    assert engine.worker_pid is None
    assert isinstance(final(await chat(engine, num_predict=2)), Done)
    assert engine.worker_pid not in (None, pid)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV], ids=["SIGKILL", "SIGSEGV"])
async def test_worker_killed_mid_answer(engine: LlamaCppEngine, sig: signal.Signals) -> None:
    events: list[ChatEvent] = []
    async for event in engine.stream_chat(STORY, opts(num_predict=24)):
        events.append(event)
        if len(events) == 2:
            pid = engine.worker_pid
            assert pid is not None
            os.kill(pid, sig)
    error = final(events)
    assert isinstance(error, ErrorEvent), error
    assert isinstance(error.error, WorkerCrashed)
    assert sig.name in str(error.error)
    assert error.partial_text
    assert error.partial_text == text_of(events)
    after = await chat(engine, num_predict=4)
    assert isinstance(final(after), Done)
    assert engine.worker_pid != pid


# -- embeddings, tokens, lifecycle ---------------------------------------------


async def test_embeddings_are_normalized_and_meaningful(engine: LlamaCppEngine) -> None:
    cat, kitten, market = await engine.embed(
        ["A cat sits on the mat.", "A kitten is lying on the rug.", "Stock markets fell sharply."]
    )
    assert len(cat) == 384
    for vector in (cat, kitten, market):
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, abs_tol=1e-4)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b))

    assert cos(cat, kitten) > 0.4
    assert cos(cat, kitten) > cos(cat, market) + 0.3
    assert await engine.embed([]) == []
    with pytest.raises(Unsupported):
        await engine.embed(["x"], model=SMOL)


async def test_count_tokens(engine: LlamaCppEngine) -> None:
    short = await engine.count_tokens("Hello world")
    longer = await engine.count_tokens("Hello world, " * 20)
    assert short is not None and longer is not None
    assert 1 <= short <= 4
    assert longer > 10 * short
    assert await engine.count_tokens("Hello world", bundled.MINILM) == 2
    with pytest.raises(ModelNotFound):
        await engine.count_tokens("x", "missing-model")


async def test_unload(engine: LlamaCppEngine) -> None:
    await chat(engine, num_predict=2)
    assert SMOL in [m.name for m in await engine.loaded()]
    await engine.unload(SMOL)
    assert SMOL not in [m.name for m in await engine.loaded()]
    with pytest.raises(ModelNotFound):
        await engine.unload("never-installed")


async def test_keep_alive_unloads_when_idle() -> None:
    engine = LlamaCppEngine(make_settings(keep_alive=0.5))
    try:
        await chat(engine, num_predict=2)
        loaded = await engine.loaded()
        assert [m.name for m in loaded] == [SMOL]
        assert loaded[0].expires_at
        deadline = time.monotonic() + 10
        while await engine.loaded() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert await engine.loaded() == []
        assert engine.worker_pid is not None  # the worker stays, empty
    finally:
        await engine.aclose()
    assert engine.worker_pid is None


def test_keep_alive_parsing() -> None:
    assert parse_keep_alive("5m", 1) == 300
    assert parse_keep_alive("30s", 1) == 30
    assert parse_keep_alive("-1", 1) < 0
    assert parse_keep_alive("0", 1) == 0
    assert parse_keep_alive("", 9) == 9
    assert parse_keep_alive("soon", 9) == 9
    assert describe_exit(-signal.SIGSEGV) == "crashed (SIGSEGV)"
    assert describe_exit(-signal.SIGKILL) == "was killed (SIGKILL)"
    assert describe_exit(3) == "exited with status 3"


def test_worker_output_never_reaches_the_terminal(tmp_path: Path) -> None:
    """A real CLI-like process: chat, a stop mid-prompt, embed, count; stderr stays empty."""
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        from offyai_tui.settings.config import Settings
        from offyai_tui.engines.base import ChatOptions, Message
        from offyai_tui.engines.llamacpp import LlamaCppEngine

        async def main():
            settings = Settings()
            settings.llamacpp.n_threads = 1
            engine = LlamaCppEngine(settings)
            text = ""
            options = ChatOptions(num_predict=6, seed=1, num_ctx=1024)
            async for event in engine.stream_chat([Message("user", "Say hi")], options):
                text += getattr(event, "text", "")
            long = [Message("user", "words and more words " * 150)]
            task = asyncio.ensure_future(engine.stream_chat(long, options).__anext__())
            await asyncio.sleep(0.3)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            vectors = await engine.embed(["hello"])
            # A tokenizer-only load makes llama.cpp warn about its context: a known line.
            tokens = await engine.count_tokens("hello world", "gemma3-270m")
            await engine.aclose()
            print(json.dumps({"text": text, "dims": len(vectors[0]), "tokens": tokens,
                              "imported": "llama_cpp" in sys.modules}))

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=240
    )
    assert result.stderr == ""
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["text"].strip()
    assert report["dims"] == 384
    assert report["tokens"] >= 2
    assert report["imported"] is False
    log = log_path()
    assert log.is_file()
    assert log.stat().st_mode & 0o777 == 0o600
    assert "llama_context" in log.read_text(errors="replace")  # llama.cpp talked, to the log


def test_default_threads_leave_one_core_for_the_app() -> None:
    from offyai_tui.engines.llamacpp import default_threads

    assert [default_threads(n) for n in (1, 2, 4, 16)] == [1, 1, 3, 15]
