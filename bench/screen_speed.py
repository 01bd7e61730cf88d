"""Real engine on screen: the tokens/s the chat screen shows against raw llama-cpp-python.

    python bench/screen_speed.py [--rounds 5] [--max-tokens 128] [--threads N] [--json]

The real app runs headless (100x30) with the real :class:`LlamaCppEngine` and
the bundled SmolLM2. Each round starts a new conversation, sets temperature 0,
a fixed seed and ``num_predict``, types the prompt and presses Enter, waits
for the answer to end and reads the tokens/s from the stats line under it.
Then the very messages and options the screen sent are run through
``llama_cpp.Llama.create_chat_completion(stream=True)`` in this process with
the same model file, chat format, context size and thread count (the app's
default: every physical core but one), while the app is idle; every other
round runs it first instead. Reported: the median
over rounds of shown/raw (target >= 0.97), and the ratio of the fastest runs
(the ones least disturbed by other load on a shared machine). One warm-up
round loads the model in the worker and is not counted. The CPU used by the
app and by the worker while answering is recorded, to tell UI cost from
contention for cores.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit_json, isolated_home, median, record
from bench.engines import PROMPT, SEED, load_raw, raw_run
from offyai_tui.engines import bundled
from offyai_tui.engines.base import ChatEvent, ChatOptions, Message, TextDelta
from offyai_tui.engines.llamacpp import LlamaCppEngine, default_threads

SIZE = (100, 30)
_SPEED = re.compile(r"([0-9][0-9.,]*) tok/s")


class RecordingEngine(LlamaCppEngine):
    """The real engine; remembers what the screen asked and when tokens were taken."""

    last_messages: list[Message]
    last_options: ChatOptions
    taken: list[float]

    async def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        self.last_messages, self.last_options, self.taken = list(messages), options, []
        async for event in super().stream_chat(messages, options):
            if isinstance(event, TextDelta):
                self.taken.append(time.perf_counter())
            yield event


def _cpu(pid: int | None = None) -> float:
    """CPU seconds (user + system) used so far by this process, or by ``pid``."""
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def _worker_cpu(engine: LlamaCppEngine) -> float:
    pid = engine.worker_pid
    return _cpu(pid) if pid else 0.0


def shown_speed(text: str) -> float | None:
    match = _SPEED.search(text)
    return float(match.group(1).replace(",", "")) if match else None


def _raw_params(options: ChatOptions) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name in ("temperature", "top_p", "top_k", "seed"):
        value = getattr(options, name)
        if value is not None:
            params[name] = value
    if options.num_predict:
        params["max_tokens"] = options.num_predict
    return params


async def measure(rounds: int, max_tokens: int, threads: int) -> dict[str, Any]:
    from offyai_tui.engines.chat_format import chat_format_for
    from offyai_tui.engines.gguf_info import read_gguf_info
    from offyai_tui.settings.config import Settings
    from offyai_tui.settings.workspace import Workspace
    from offyai_tui.ui.app import make_app
    from offyai_tui.ui.screens.chat import ChatScreen

    settings = Settings()
    settings.llamacpp.n_threads = threads
    engine = RecordingEngine(settings)
    app = make_app(settings=settings, workspace=Workspace.open("default"), engine=engine)
    info = read_gguf_info(bundled.smollm2_path())
    llm: Any = None
    shown: list[float] = []
    raw: list[float] = []
    delivered: list[float] = []
    cores: dict[str, list[float]] = {"app": [], "worker": [], "raw": []}
    chat: list[dict[str, Any]] = []
    params: dict[str, Any] = {}
    try:
        async with app.run_test(size=SIZE) as pilot:
            deadline = time.monotonic() + 30
            while not (isinstance(app.screen, ChatScreen) and app.screen.is_mounted):
                if time.monotonic() > deadline:
                    raise RuntimeError("the chat screen did not open")
                await pilot.pause(0.05)
            screen = app.screen
            assert isinstance(screen, ChatScreen)
            for index in range(rounds + 1):
                # Every other round runs the raw baseline first (same messages and
                # options as the previous round), so a machine getting faster or
                # slower over a round favours neither side.
                raw_before = None
                if index >= 2 and index % 2 == 0 and llm is not None:
                    raw_cpu, raw_wall = _cpu(), time.perf_counter()
                    raw_before = raw_run(llm, chat, params)
                    cores["raw"].append((_cpu() - raw_cpu) / (time.perf_counter() - raw_wall))
                await screen.action_new_chat()
                conversation = screen.conversation
                conversation.set_parameter("temperature", 0.0)
                conversation.set_parameter("seed", SEED)
                conversation.set_parameter("num_predict", max_tokens)
                screen.prompt.load_text(PROMPT)
                app_cpu, worker_cpu, wall = _cpu(), _worker_cpu(engine), time.perf_counter()
                await pilot.press("enter")
                deadline = time.monotonic() + 180
                while not screen.generating:
                    await pilot.pause(0.01)
                while screen.generating:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the answer did not end within 180 s")
                    await pilot.pause(0.05)
                wall = time.perf_counter() - wall
                app_cpu = (_cpu() - app_cpu) / wall
                worker_cpu = (_worker_cpu(engine) - worker_cpu) / wall
                await pilot.pause()
                view = screen.messages.views[-1]
                footer = view.query_one(".footer").render()
                line = str(getattr(footer, "plain", footer))
                speed = shown_speed(line)
                if speed is None:
                    raise RuntimeError(f"no tok/s in the stats line: {line!r}")
                if llm is None:
                    options = engine.last_options
                    n_ctx = min(
                        options.num_ctx or settings.llamacpp.n_ctx,
                        info.context_length or settings.llamacpp.n_ctx,
                    )
                    llm = load_raw(threads, n_ctx, chat_format_for(info))
                chat = [m.as_dict() for m in engine.last_messages]
                params = _raw_params(engine.last_options)
                if index == 0:
                    raw_run(llm, chat, params)  # warm-up: prompt into the raw KV cache
                    continue
                if raw_before is None:
                    raw_cpu, raw_wall = _cpu(), time.perf_counter()
                    baseline = raw_run(llm, chat, params)
                    cores["raw"].append((_cpu() - raw_cpu) / (time.perf_counter() - raw_wall))
                else:
                    baseline = raw_before
                cores["app"].append(app_cpu)
                cores["worker"].append(worker_cpu)
                taken = engine.taken
                shown.append(speed)
                raw.append(baseline.tokens_per_s)
                if len(taken) > 1:
                    delivered.append((len(taken) - 1) / (taken[-1] - taken[0]))
                print(
                    f"  round {index}/{rounds}: shown {speed:.1f} tok/s, raw "
                    f"{baseline.tokens_per_s:.1f} tok/s",
                    file=sys.stderr,
                )
    finally:
        engine.close()
    ratios = [s / r for s, r in zip(shown, raw) if r]
    return {
        "model": bundled.SMOLLM2,
        "max_tokens": max_tokens,
        "n_threads": threads,
        "rounds": rounds,
        "shown_tok_s": round(median(shown), 1),
        "raw_tok_s": round(median(raw), 1),
        "delivered_to_screen_tok_s": round(median(delivered), 1),
        "ratio": round(median(ratios), 3),
        "best_ratio": round(max(shown) / max(raw), 3) if shown and raw else None,
        "cpu_cores_used": {name: round(median(values), 2) for name, values in cores.items()},
        "ok": median(ratios) >= 0.97,
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"real engine on screen: {result['model']}, {result['n_threads']} thread(s), "
        f"median of {result['rounds']} rounds"
    )
    print(
        f"  shown {result['shown_tok_s']} tok/s / raw {result['raw_tok_s']} tok/s = "
        f"x{result['ratio']:.3f} (target >= 0.97); tokens reached the screen at "
        f"{result['delivered_to_screen_tok_s']} tok/s"
    )
    cores = result["cpu_cores_used"]
    print(
        f"  CPU while answering: app {cores['app']} cores, worker {cores['worker']} cores; "
        f"raw run {cores['raw']} cores"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="0: the app's default")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    with isolated_home():
        result = asyncio.run(
            measure(args.rounds, args.max_tokens, args.threads or default_threads())
        )
    print_table(result)
    record("screen_speed", result)
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
