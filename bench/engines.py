"""Engine adapters against raw llama-cpp-python, on the same model in the same run.

    python bench/engines.py [--rounds 5] [--max-tokens 128] [--json]

Every path serves the bundled SmolLM2 with the same prompt, greedy sampling
(temperature 0, fixed seed), the same ``max_tokens``, ``n_ctx`` and thread
count (one thread: the Ollama-protocol test server is fixed at one):

- raw: ``llama_cpp.Llama.create_chat_completion(stream=True)`` in this process;
- llamacpp: :class:`LlamaCppEngine` (its worker process);
- openai: :class:`OpenAICompatEngine` against ``python -m llama_cpp.server``;
- ollama: :class:`OllamaEngine` against ``tests/ollama_server.py``.

Two more paths read the same servers with a plain httpx loop and no adapter
(``openai_wire``, ``ollama_wire``: same request body, one JSON parse per
line), so an adapter's cost can be told apart from its server's: the target
is against raw llama-cpp-python, the wire ratio says whose cost it is.

Each path gets one warm-up request (model loaded, prompt cached), then the
paths take turns for ``--rounds`` rounds, the order rotating each round, so a
burst of load from elsewhere on the machine hits every path alike. Decode speed
is measured the same way everywhere, from the consumer's side: text pieces
after the first divided by the time from the first to the last piece. TTFT is
from the call to the first text piece. Reported: the median over rounds of
adapter/raw speed (target >= 0.95) and of adapter TTFT minus raw TTFT (target
<= 20 ms), plus the RSS of the llama.cpp worker with the model loaded. On a
shared machine one round can be slowed by someone else's work, so the ratio of
each path's fastest run to raw's fastest run is kept too (``best_speed_ratio``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit_json, isolated_home, median, record
from offyai_tui.engines import bundled
from offyai_tui.engines.base import (
    ChatOptions,
    Engine,
    ErrorEvent,
    Message,
    TextDelta,
)
from offyai_tui.settings.config import OpenAIEndpoint, Settings

PROMPT = (
    "Write a long, detailed story about a lighthouse keeper who finds a message "
    "in a bottle. Describe the sea, the weather and the keeper's daily routine."
)
SEED = 42
N_CTX = 2048
THREADS = 1
OLLAMA_MODEL = "smollm2:135m"
PATHS = ("raw", "llamacpp", "openai", "openai_wire", "ollama", "ollama_wire")
WIRE_OF = {"openai": "openai_wire", "ollama": "ollama_wire"}
"""Adapter -> the plain reader of the same server."""


@dataclass
class Run:
    """One streamed answer as its consumer saw it."""

    ttft_s: float
    pieces: int
    decode_s: float
    total_s: float
    text: str

    @property
    def tokens_per_s(self) -> float:
        return (self.pieces - 1) / self.decode_s if self.pieces > 1 and self.decode_s > 0 else 0.0


class _Clock:
    """Collects the arrival times of text pieces."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first = 0.0
        self.last = 0.0
        self.parts: list[str] = []

    def piece(self, text: str) -> None:
        now = time.perf_counter()
        if not self.first:
            self.first = now
        self.last = now
        self.parts.append(text)

    def run(self) -> Run:
        end = time.perf_counter()
        if not self.parts:
            raise RuntimeError("the answer had no text")
        return Run(
            self.first - self.started,
            len(self.parts),
            self.last - self.first,
            end - self.started,
            "".join(self.parts),
        )


def messages() -> list[Message]:
    return [Message("user", PROMPT)]


def options(max_tokens: int, model: str = "") -> ChatOptions:
    return ChatOptions(
        model=model, temperature=0.0, seed=SEED, num_predict=max_tokens, num_ctx=N_CTX
    )


def load_raw(threads: int = THREADS, n_ctx: int = N_CTX, chat_format: str | None = None) -> Any:
    """SmolLM2 in this process, as the raw baseline."""
    from llama_cpp import Llama

    kwargs: dict[str, Any] = {"chat_format": chat_format} if chat_format else {}
    return Llama(
        str(bundled.smollm2_path()),
        n_ctx=n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
        **kwargs,
    )


def raw_run(llm: Any, chat: list[dict[str, str]], params: dict[str, Any]) -> Run:
    """One streamed answer straight from llama-cpp-python."""
    clock = _Clock()
    for chunk in llm.create_chat_completion(messages=chat, stream=True, **params):
        text = (chunk["choices"][0].get("delta") or {}).get("content")
        if text:
            clock.piece(text)
    return clock.run()


async def engine_run(engine: Engine, msgs: list[Message], opts: ChatOptions) -> Run:
    """One streamed answer through an engine adapter."""
    clock = _Clock()
    async for event in engine.stream_chat(msgs, opts):
        if isinstance(event, TextDelta):
            clock.piece(event.text)
        elif isinstance(event, ErrorEvent):
            raise RuntimeError(f"{engine.label}: {event.error}")
    return clock.run()


async def openai_wire_run(client: Any, url: str, body: dict[str, Any]) -> Run:
    """One answer from ``/v1/chat/completions`` read line by line, no adapter."""
    clock = _Clock()
    async with client.stream("POST", url + "/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            choices = json.loads(data).get("choices") or []
            text = choices and (choices[0].get("delta") or {}).get("content")
            if text:
                clock.piece(text)
    return clock.run()


async def ollama_wire_run(client: Any, url: str, body: dict[str, Any]) -> Run:
    """One answer from ``/api/chat`` read line by line, no adapter."""
    clock = _Clock()
    async with client.stream("POST", url + "/api/chat", json=body) as response:
        async for line in response.aiter_lines():
            if not line.strip():
                continue
            item = json.loads(line)
            text = (item.get("message") or {}).get("content")
            if text:
                clock.piece(text)
            if item.get("done"):
                break
    return clock.run()


def wire_bodies(max_tokens: int) -> dict[str, dict[str, Any]]:
    """The request bodies the OpenAI-compatible and Ollama adapters send for these options."""
    chat = [m.as_dict() for m in messages()]
    return {
        "openai": {
            "model": "smollm2",
            "messages": chat,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.0,
            "seed": SEED,
            "max_tokens": max_tokens,
        },
        "ollama": {
            "model": OLLAMA_MODEL,
            "messages": chat,
            "stream": True,
            "options": {
                "temperature": 0.0,
                "seed": SEED,
                "num_predict": max_tokens,
                "num_ctx": N_CTX,
            },
            "keep_alive": "5m",
        },
    }


def _paired(series: list[Run], base: list[Run]) -> tuple[float, float]:
    """Median over rounds of speed ratio and of TTFT difference (ms) to ``base``."""
    ratios = [r.tokens_per_s / b.tokens_per_s for r, b in zip(series, base) if b.tokens_per_s]
    added = [(r.ttft_s - b.ttft_s) * 1000 for r, b in zip(series, base)]
    return round(median(ratios), 3), round(median(added), 1)


def summarize(runs: dict[str, list[Run]]) -> dict[str, Any]:
    """Per-path medians and, per adapter, the median of its per-round ratios to raw."""
    raw = runs["raw"]
    out: dict[str, Any] = {}
    for name, series in runs.items():
        entry: dict[str, Any] = {
            "tokens_per_s": round(median([r.tokens_per_s for r in series]), 1),
            "ttft_ms": round(median([r.ttft_s * 1000 for r in series]), 1),
            "pieces": int(median([r.pieces for r in series])),
            "same_text_as_raw": all(r.text == raw[0].text for r in series),
        }
        if name != "raw":
            entry["speed_ratio"], entry["added_ttft_ms"] = _paired(series, raw)
            best = max(r.tokens_per_s for r in series) / max(b.tokens_per_s for b in raw)
            entry["best_speed_ratio"] = round(best, 3)
        if name in ("llamacpp", *WIRE_OF):
            entry["speed_ok"] = entry["speed_ratio"] >= 0.95
            entry["ttft_ok"] = entry["added_ttft_ms"] <= 20.0
        wire = WIRE_OF.get(name)
        if wire in runs:
            entry["wire_speed_ratio"], entry["wire_added_ttft_ms"] = _paired(series, runs[wire])
        out[name] = entry
    return out


async def measure(rounds: int, max_tokens: int, log_dir: Path) -> dict[str, Any]:
    import psutil

    from bench.servers import start_llama_server, start_ollama_server
    from offyai_tui.engines.llamacpp import LlamaCppEngine
    from offyai_tui.engines.ollama import OllamaEngine
    from offyai_tui.engines.openai_compat import OpenAICompatEngine

    model = bundled.smollm2_path()
    llama_server = start_llama_server(
        model, log_dir / "llama-server.log", "--model_alias", "smollm2",
        n_ctx=N_CTX, threads=THREADS,
    )  # fmt: skip
    ollama_server = None
    engines: dict[str, Engine] = {}
    clients: list[Any] = []
    try:
        ollama_server = start_ollama_server(log_dir / "ollama-server.log")
        settings = Settings()
        settings.llamacpp.n_threads = THREADS
        settings.llamacpp.n_threads_batch = THREADS  # like raw: bench/ttft.py measures more
        settings.llamacpp.n_ctx = N_CTX
        settings.ollama.host = ollama_server.url.removeprefix("http://")
        engines["llamacpp"] = LlamaCppEngine(settings)
        engines["openai"] = OpenAICompatEngine(
            OpenAIEndpoint(name="llama-server", url=llama_server.url), settings
        )
        engines["ollama"] = OllamaEngine(settings)
        llm = load_raw()
        chat = [m.as_dict() for m in messages()]
        raw_params = {"temperature": 0.0, "seed": SEED, "max_tokens": max_tokens}
        model_for = {"llamacpp": bundled.SMOLLM2, "openai": "smollm2", "ollama": OLLAMA_MODEL}

        bodies = wire_bodies(max_tokens)
        client = httpx.AsyncClient(trust_env=False, timeout=httpx.Timeout(120.0))
        clients.append(client)

        def runner(name: str) -> Callable[[], Any]:
            if name == "raw":
                return lambda: raw_run(llm, chat, raw_params)
            if name == "openai_wire":
                return lambda: openai_wire_run(client, llama_server.url, bodies["openai"])
            if name == "ollama_wire":
                return lambda: ollama_wire_run(client, ollama_server.url, bodies["ollama"])
            return lambda: engine_run(
                engines[name], messages(), options(max_tokens, model_for[name])
            )

        async def once(name: str) -> Run:
            result = runner(name)()
            return await result if asyncio.iscoroutine(result) else result

        for name in PATHS:  # warm-up: model loaded, prompt in the KV cache
            await once(name)
        runs: dict[str, list[Run]] = {name: [] for name in PATHS}
        for index in range(rounds):
            order = PATHS[index % len(PATHS) :] + PATHS[: index % len(PATHS)]
            for name in order:
                runs[name].append(await once(name))
            print(
                f"  round {index + 1}/{rounds}: "
                + ", ".join(f"{n} {runs[n][-1].tokens_per_s:.0f} tok/s" for n in PATHS),
                file=sys.stderr,
            )
        summary = summarize(runs)
        worker_pid = getattr(engines["llamacpp"], "worker_pid", None)
        worker_rss = psutil.Process(worker_pid).memory_info().rss if worker_pid else 0
        return {
            "model": bundled.SMOLLM2,
            "model_file": model.name,
            "model_bytes": model.stat().st_size,
            "prompt": PROMPT,
            "max_tokens": max_tokens,
            "n_threads": THREADS,
            "n_ctx": N_CTX,
            "rounds": rounds,
            "paths": summary,
            "llamacpp_worker_rss_mb": round(worker_rss / 2**20, 1),
        }
    finally:
        for engine in engines.values():
            await engine.aclose()
        for client in clients:
            await client.aclose()
        llama_server.stop()
        if ollama_server is not None:
            ollama_server.stop()


def print_table(result: dict[str, Any]) -> None:
    print(
        f"engines: {result['model']}, {result['max_tokens']} max tokens, "
        f"{result['n_threads']} thread(s), median of {result['rounds']} rounds"
    )
    for name, entry in result["paths"].items():
        line = f"  {name:12s}{entry['tokens_per_s']:7.1f} tok/s  TTFT {entry['ttft_ms']:6.1f} ms"
        if name != "raw":
            line += (
                f"  speed x{entry['speed_ratio']:.3f} of raw  TTFT +{entry['added_ttft_ms']:.1f} ms"
            )
        if "wire_speed_ratio" in entry:
            line += f"  (x{entry['wire_speed_ratio']:.3f} of a plain reader of its server)"
        if not entry["same_text_as_raw"]:
            line += "  (text differs from raw)"
        print(line)
    print(f"  llama.cpp worker RSS with SmolLM2 loaded: {result['llamacpp_worker_rss_mb']} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    with isolated_home() as home:
        result = asyncio.run(measure(args.rounds, args.max_tokens, home))
    print_table(result)
    record("engines", result)
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
