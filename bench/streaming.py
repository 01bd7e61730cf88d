"""Streaming render: the real chat screen against one Markdown widget, same stream.

    python bench/streaming.py [--sizes 4000 10000 20000] [--rate 2000] [--history N] [--json]

A synthetic engine (:mod:`bench.synthetic`) streams N tokens of Markdown at a
fixed rate into the real app (``make_app`` with the real chat screen, headless,
100x30), and, as the baseline, into a minimal app holding one ``Markdown``
widget fed through ``Markdown.get_stream()``. Measured for each:

- render ratio: time from the first token until the last one is on screen
  (its text is in the last Markdown block and a screen refresh has followed),
  divided by the stream's own duration N / rate (target <= 1.2 for the chat
  screen at 20,000 tokens);
- keypress-to-echo: during the stream a thread types a key about every
  100 ms, posting the key event to the app from outside its event loop as the
  terminal driver does, and each key is timed from that moment until the
  first frame the app hands to its driver after the prompt drew the
  character; p50/p95 (target p95 < 100 ms), with the same measure on the idle
  screen before the stream as its baseline.

Headless Textual composes every frame but skips writing it to a terminal, so
terminal output cost is not included.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Markdown, Static, TextArea

from bench.common import emit_json, isolated_home, percentile, record
from bench.synthetic import END_MARK, PacedEngine, markdown_tokens
from offyai_tui.engines.base import ChatOptions, TextDelta

SIZE = (100, 30)
KEYS = "qwertyuiopzxcvbn"
"""Printable keys that no binding of the app claims."""
KEY_INTERVAL_S = 0.1
IDLE_KEYS = 15
TIMEOUT_RATIO = 4.0
"""A stream not on screen after this many times its duration is reported as a miss."""


# -- what is on screen --------------------------------------------------------------


def _leaf(widget: Widget) -> Widget:
    node = widget
    while node.children:
        node = node.children[-1]
    return node


def _shows(widget: Widget | None, mark: str) -> bool:
    """Whether the last leaf under ``widget`` holds ``mark`` in its content."""
    if widget is None:
        return False
    leaf = _leaf(widget)
    if not isinstance(leaf, Static):
        return False
    content = leaf.content
    return mark in str(getattr(content, "plain", content))


async def _until(condition: Callable[[], bool], deadline: float, step: float = 0.002) -> bool:
    while not condition():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(step)
    return True


# -- keys ------------------------------------------------------------------------------


class KeyProbe:
    """Types into ``prompt`` like a person, timing each key until its echo is drawn.

    A thread plays the terminal driver: it posts each key event to the app from
    outside the event loop (``post_message`` is thread-safe) and notes the time,
    so a busy loop delays the echo, not the clock's start. The next key goes
    only after the previous one was echoed (or given up on), every ~100 ms.
    The echo is the first frame the app hands to its driver (``App._display``)
    after the prompt drew a line while holding the character: what a terminal
    would show next.
    """

    def __init__(self, app: App, prompt: TextArea, timeout: float = 2.0) -> None:
        self.app = app
        self.prompt = prompt
        self.timeout = timeout
        self.samples_ms: list[float] = []
        self.missed = 0
        self._lock = threading.Lock()
        self._sent = 0.0
        """When the key in flight was posted (0: none in flight)."""
        self._target = 0
        """Prompt length that holds the key in flight."""
        self._drawn = False
        self._echoed = threading.Event()
        self._halt = threading.Event()

    def _type(self, count: int | None, interval: float) -> None:
        rng = random.Random(3)
        typed = 0
        while count is None or typed < count:
            if self._halt.wait(interval * rng.uniform(0.7, 1.3)):
                return
            char = rng.choice(KEYS)
            self._echoed.clear()
            with self._lock:
                self._drawn = False
                self._sent = time.perf_counter()
            self.app.post_message(events.Key(char, char))
            self._echoed.wait(self.timeout + 1)
            typed += 1

    def _hook(self) -> Callable[[], None]:
        """Watch the prompt's drawing and the app's frames; returns the undo."""
        prompt, app = self.prompt, self.app
        render_line, display = prompt.render_line, app._display

        def drawing(y: int) -> Any:
            if self._sent and len(prompt.text) >= self._target:
                self._drawn = True
            return render_line(y)

        def framing(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if renderable is not None and self._drawn and not app._batch_count:
                with self._lock:
                    if self._sent:
                        self.samples_ms.append((time.perf_counter() - self._sent) * 1000)
                        self._done()

        prompt.render_line = drawing  # type: ignore[method-assign]
        app._display = framing  # type: ignore[method-assign]

        def undo() -> None:
            del prompt.render_line
            del app._display

        return undo

    def _done(self) -> None:
        self._sent = 0.0
        self._drawn = False
        self._target = len(self.prompt.text) + 1
        self._echoed.set()

    async def run(
        self,
        stop: asyncio.Event | None = None,
        count: int | None = None,
        interval: float = KEY_INTERVAL_S,
    ) -> None:
        """Type ``count`` keys, or until ``stop`` is set."""
        self._target = len(self.prompt.text) + 1
        undo = self._hook()
        typist = threading.Thread(target=self._type, args=(count, interval), daemon=True)
        typist.start()
        try:
            while typist.is_alive():
                if stop is not None and stop.is_set():
                    self._halt.set()
                with self._lock:
                    if self._sent and time.perf_counter() - self._sent > self.timeout:
                        self.missed += 1
                        self._done()
                await asyncio.sleep(0.01)
        finally:
            self._halt.set()
            self._echoed.set()
            undo()

    def summary(self) -> dict[str, Any]:
        values = self.samples_ms
        return {
            "n": len(values),
            "p50_ms": round(percentile(values, 50), 1),
            "p95_ms": round(percentile(values, 95), 1),
            "max_ms": round(max(values), 1) if values else float("nan"),
            "missed": self.missed,
        }


# -- one measured stream ---------------------------------------------------------------


async def _measure_stream(
    app: App,
    engine: PacedEngine,
    prompt: TextArea,
    shown: Callable[[], bool],
    begin: Callable[[], Any],
) -> dict[str, Any]:
    """Idle keys, then start the stream and time it to the screen, keys pressed throughout."""
    idle = KeyProbe(app, prompt)
    await idle.run(count=IDLE_KEYS, interval=0.03)
    prompt.load_text("")
    await begin()
    limit = max(20.0, TIMEOUT_RATIO * engine.nominal_s)
    if not await _until(lambda: engine.started_at > 0, time.perf_counter() + 30):
        raise RuntimeError("the stream did not start")
    stop = asyncio.Event()
    busy = KeyProbe(app, prompt)
    keys = asyncio.create_task(busy.run(stop))
    deadline = engine.started_at + limit
    try:
        await _until(lambda: engine.ended_at > 0, deadline, step=0.01)
        rendered = await _until(shown, deadline)
        if rendered:
            await app.screen.wait_for_refresh()
        end = time.perf_counter()  # before waiting for a key press still in flight
    finally:
        stop.set()
        await keys
    nominal = engine.nominal_s
    return {
        "render_ratio": round((end - engine.started_at) / nominal, 3) if rendered else None,
        "timed_out_after_ratio": None if rendered else round(limit / nominal, 1),
        "engine_end_ratio": round(((engine.ended_at or end) - engine.started_at) / nominal, 3),
        "keys_streaming": busy.summary(),
        "keys_idle": idle.summary(),
    }


async def chat_screen_stream(tokens: int, rate: float, history: int = 0) -> dict[str, Any]:
    """The real app and chat screen, one answer of ``tokens`` tokens.

    With ``history``, the answer streams into a conversation that already holds
    that many messages (prompts and Markdown answers, as ``bench/open_long.py``
    writes them), so the earlier answers are mounted above it.
    """
    from offyai_tui.settings.config import Settings
    from offyai_tui.settings.workspace import Workspace
    from offyai_tui.ui.app import make_app
    from offyai_tui.ui.screens.chat import ChatScreen

    engine = PacedEngine(markdown_tokens(tokens), rate)
    app = make_app(settings=Settings(), workspace=Workspace.open("default"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        await _until(
            lambda: isinstance(app.screen, ChatScreen) and app.screen.is_mounted,
            time.perf_counter() + 30,
        )
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        if history:
            from bench.open_long import write_conversation

            conversation_id = await write_conversation(screen.store, history, seed=7)
            await screen.open_conversation(screen.store.load(conversation_id))
        prompt = screen.prompt
        await pilot.pause()

        async def begin() -> None:
            prompt.load_text("Write a very long answer, with sections, lists and code.")
            # Not pilot.press: it waits for the app to be idle, which it is not once streaming.
            app.post_message(events.Key("enter", "\r"))

        def shown() -> bool:
            views = screen.messages.views
            body = views[-1].body if views else None
            return bool(body is not None and body.children and _shows(body.children[-1], END_MARK))

        result = await _measure_stream(app, engine, prompt, shown, begin)
        if screen.generating and result["render_ratio"] is None:
            screen.action_stop()  # timed out: end the answer before the app closes
        await _until(lambda: not screen.generating, time.perf_counter() + 30, step=0.02)
    return result


class MarkdownStreamApp(App[None]):
    """The baseline: one Markdown widget in an anchored scroll, fed by get_stream()."""

    CSS = "#scroll { height: 1fr; } #prompt { height: 3; }"

    def __init__(self, engine: PacedEngine) -> None:
        super().__init__()
        self.engine = engine
        self.done = asyncio.Event()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="scroll"):
            yield Markdown(id="answer")
        yield TextArea(id="prompt")

    def on_mount(self) -> None:
        self.query_one("#prompt").focus()
        self.query_one("#scroll", VerticalScroll).anchor()

    def start(self) -> None:
        self.run_worker(self._consume(), group="stream")

    async def _consume(self) -> None:
        stream = Markdown.get_stream(self.query_one("#answer", Markdown))
        try:
            async for event in self.engine.stream_chat([], ChatOptions()):
                if isinstance(event, TextDelta):
                    await stream.write(event.text)
        finally:
            await stream.stop()
            self.done.set()


async def markdown_baseline_stream(tokens: int, rate: float) -> dict[str, Any]:
    """One Markdown widget fed through ``get_stream()`` in a minimal app."""
    engine = PacedEngine(markdown_tokens(tokens), rate)
    app = MarkdownStreamApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        prompt = app.query_one("#prompt", TextArea)
        answer = app.query_one("#answer", Markdown)

        async def begin() -> None:
            app.start()

        result = await _measure_stream(app, engine, prompt, lambda: _shows(answer, END_MARK), begin)
        if result["render_ratio"] is None:
            app.workers.cancel_group(app, "stream")
        await _until(app.done.is_set, time.perf_counter() + 60, step=0.02)
    return result


# -- the benchmark ---------------------------------------------------------------------


async def measure(sizes: list[int], rate: float, history: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"rate_tok_s": rate, "terminal": f"{SIZE[0]}x{SIZE[1]}", "sizes": {}}
    if history:
        out["history_messages"] = history
    for tokens in sizes:
        chat = await chat_screen_stream(tokens, rate, history)
        print(f"  {tokens} tokens: chat screen {_ratio(chat)}", file=sys.stderr)
        base = await markdown_baseline_stream(tokens, rate)
        print(f"  {tokens} tokens: one Markdown {_ratio(base)}", file=sys.stderr)
        out["sizes"][str(tokens)] = {
            "tokens": tokens,
            "nominal_s": round(tokens / rate, 2),
            "chat_screen": chat,
            "markdown_baseline": base,
        }
    return out


def _ratio(entry: dict[str, Any]) -> str:
    if entry["render_ratio"] is None:
        return f"not rendered within {entry['timed_out_after_ratio']}x"
    return f"{entry['render_ratio']:.2f}x"


def print_table(result: dict[str, Any]) -> None:
    print(
        f"streaming render at {result['rate_tok_s']:.0f} tok/s, {result['terminal']} "
        "(render ratio = time to last token on screen / stream time; target <= 1.2)"
    )
    for tokens, entry in result["sizes"].items():
        chat, base = entry["chat_screen"], entry["markdown_baseline"]
        keys = chat["keys_streaming"]
        print(
            f"  {int(tokens):>6} tokens  chat screen {_ratio(chat):>8}  one Markdown "
            f"{_ratio(base):>8}  keys during stream p50 {keys['p50_ms']} ms "
            f"p95 {keys['p95_ms']} ms (idle p95 {chat['keys_idle']['p95_ms']} ms)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 10000, 20000])
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument(
        "--history", type=int, default=0,
        help="stream into a conversation already holding this many messages (not recorded)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    with isolated_home():
        result = asyncio.run(measure(args.sizes, args.rate, args.history))
    print_table(result)
    if not args.history:
        record("streaming", result)
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
