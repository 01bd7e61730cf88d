"""What the Ollama stand-in answers with: the model names that choose its faults, the
scripted thinking and tool calls, Ollama's name and keep-alive rules, the real SmolLM2
behind every chat model, the installed and loaded models it reports, the parameters
``/api/show`` lists and the embeddings it hands back.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

FAULTS = (
    "cut-model",
    "stall-model",
    "garbage-model",
    "error-model",
    "slow-model",
    "thinking-model",
    "tools-model",
    "vision-model",
)
CHAT_MODEL = "smollm2:135m"
EMBED_MODEL = "all-minilm:latest"
FAULT_AFTER = 3
"""Content lines sent before a fault model misbehaves."""
THINKING = ["Je ", "réfléchis", "… ", "naïve ", "idée ", "🤔", " — ", "日本語", " ok"]
THINKING_PAUSE = 0.15
"""Seconds between thinking deltas."""
TOOL_CALLS = [
    {"id": "call_weather_1", "function": {"index": 0, "name": "get_weather",
                                          "arguments": {"city": "Zürich", "days": 2}}},
    {"function": {"index": 1, "name": "get_time", "arguments": {}}},
]  # fmt: skip
MID_STREAM_ERROR = "an error was encountered while running the model: unexpected EOF"
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    15: "Q4_K_M",
}
NO_LIMIT = datetime(2318, 1, 1, tzinfo=timezone.utc)


def _asked_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool calls a test scripts in its prompt: ``calls: [{"name": ..., "arguments": ...}]``."""
    last = messages[-1].get("content", "") if messages else ""
    if not isinstance(last, str) or not last.startswith("calls: "):
        return []
    return [{"function": call} for call in json.loads(last[len("calls: "):])]


def canonical(name: str) -> str:
    """Ollama's name rule: a missing tag means ``:latest``."""
    name = name.strip()
    return name if not name or ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_keep_alive(value: Any) -> timedelta | None:
    """Seconds as a number, or a Go duration ("5m", "1h30m", "300ms"); negative = forever."""
    if value is None:
        return timedelta(minutes=5)
    if isinstance(value, (int, float)):
        return None if value < 0 else timedelta(seconds=value)
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(-?[\d.]+)(ms|s|m|h)", str(value))
    if not parts and str(value).strip() != "0":
        raise ValueError(f"time: invalid duration {value!r}")
    seconds = sum(float(n) * units[u] for n, u in parts)
    return None if seconds < 0 else timedelta(seconds=seconds)


class Model:
    """The real SmolLM2 behind every chat model of this server."""

    def __init__(self, path: str) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.path = path
        self.llm = Llama(path, n_ctx=2048, n_threads=1, n_threads_batch=1, verbose=False)
        self.lock = threading.Lock()
        meta = self.llm.metadata
        eos = self.llm.detokenize([self.llm.token_eos()], special=True).decode()
        bos = self.llm.detokenize([self.llm.token_bos()], special=True).decode()
        self.template = meta.get("tokenizer.chat_template", "")
        self.formatter = Jinja2ChatFormatter(self.template, eos, bos)
        self.info = {k: _typed(v) for k, v in meta.items() if k != "tokenizer.chat_template"}
        self.details = {
            "parent_model": "",
            "format": "gguf",
            "family": meta.get("general.architecture", ""),
            "families": [meta.get("general.architecture", "")],
            "parameter_size": meta.get("general.size_label", ""),
            "quantization_level": FILE_TYPES.get(int(meta.get("general.file_type", -1)), "?"),
        }

    def generate(
        self, messages: list[dict[str, Any]], options: dict[str, Any], stats: dict
    ) -> Iterator[str]:
        """Yield the answer's pieces; fill ``stats`` with Ollama's counters."""
        started = time.perf_counter_ns()
        prefill = ""
        if messages and messages[-1].get("role") == "assistant":  # Ollama continues it
            prefill = str(messages[-1].get("content") or "")
            messages = messages[:-1]
        prompt = self.formatter(messages=messages)
        predict = int(options.get("num_predict") or 32)
        kwargs: dict[str, Any] = {
            "max_tokens": 32 if predict < 0 else min(predict, 256),
            "temperature": float(options.get("temperature", 0.8)),
            "top_p": float(options.get("top_p", 0.9)),
            "top_k": int(options.get("top_k", 40)),
            "stop": list(prompt.stop or []) + list(options.get("stop") or []),
            "stream": True,
        }
        if options.get("seed") is not None:
            kwargs["seed"] = int(options["seed"])
        with self.lock:
            text = prompt.prompt + prefill
            tokens = self.llm.tokenize(text.encode(), add_bos=False, special=True)
            stats.update(prompt_eval_count=len(tokens), eval_count=0, done_reason="stop")
            first = 0
            for chunk in self.llm.create_completion(tokens, **kwargs):
                choice = chunk["choices"][0]
                if choice.get("finish_reason"):
                    stats["done_reason"] = choice["finish_reason"]
                if choice["text"]:
                    first = first or time.perf_counter_ns()
                    stats["eval_count"] += 1
                    yield choice["text"]
        end = time.perf_counter_ns()
        first = first or end
        stats.update(
            total_duration=end - started,
            load_duration=1_000_000,
            prompt_eval_duration=first - started,
            eval_duration=max(end - first, 1),
        )


def _typed(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


class State:
    """Installed and loaded models, and what the tests may ask about."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.lock = threading.Lock()
        size = os.path.getsize(model.path)
        self.installed: dict[str, dict[str, Any]] = {}
        self.install(
            EMBED_MODEL,
            45_960_996,
            {
                **model.details,
                "family": "bert",
                "families": ["bert"],
                "parameter_size": "23M",
                "quantization_level": "F16",
            },
        )
        for fault in FAULTS:
            self.install(canonical(fault), size, model.details)
        self.install(CHAT_MODEL, size, model.details)  # newest first, as Ollama sorts
        self.loaded: dict[str, datetime] = {}
        self.requests: list[dict[str, Any]] = []
        self.counters = {"completed": 0, "disconnects": 0, "active": 0}
        self.last_done: dict[str, Any] = {}
        self.rng = random.Random(1234)

    def install(self, name: str, size: int, details: dict[str, Any]) -> None:
        digest = hashlib.sha256(name.encode()).hexdigest()
        entry = {
            "name": name,
            "model": name,
            "modified_at": now_text(),
            "size": size,
            "digest": digest,
            "details": dict(details),
        }
        with self.lock:
            self.installed = {name: entry, **self.installed}

    def record(self, path: str, body: dict[str, Any]) -> None:
        with self.lock:
            # Kept whole for the server's life: tests count the requests before an action
            # and read the ones after it, which a rolling window would silently hide.
            self.requests.append({"path": path, "body": body})

    def finished(self, final: dict[str, Any]) -> None:
        with self.lock:
            self.counters["completed"] += 1
            self.last_done = final

    def count(self, key: str, delta: int = 1) -> None:
        with self.lock:
            self.counters[key] += delta

    def touch(self, name: str, keep_alive: Any) -> None:
        duration = parse_keep_alive(keep_alive)
        with self.lock:
            if duration is not None and not duration:
                self.loaded.pop(name, None)
            else:
                until = NO_LIMIT if duration is None else datetime.now(timezone.utc) + duration
                self.loaded[name] = until


def _parameters_text(parameters: dict[str, Any]) -> str:
    """``/api/show``'s ``parameters``: one ``name value`` line each, as Ollama lays them out
    (a stop sequence quoted, one line per sequence)."""
    lines = []
    for key, value in {"stop": ["<|im_end|>"], **parameters}.items():
        for item in value if isinstance(value, list) else [value]:
            shown = json.dumps(item) if isinstance(item, str) else item
            lines.append(f"{key:<30} {shown}")
    return "\n".join(lines)


def _vector(text: str, dims: int = 384) -> list[float]:
    """A deterministic unit vector for ``text`` (the client is under test, not the embedder)."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    values = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [v / norm for v in values]
