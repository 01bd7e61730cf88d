"""Keys while an answer streams: none lost, none reordered, and how soon each is drawn.

    python bench/key_bursts.py [--tokens 20000] [--rate 2000] [--cps 30 1000] [--json]

The real app (``make_app``, the real chat screen, headless, 100x30) streams a
synthetic answer (:mod:`bench.synthetic`, 20,000 tokens at 2,000 tok/s), and
while it streams a thread plays the terminal driver: it posts key events from
outside the event loop at a fixed rate, 30 characters a second (a fast
typist) and 1,000 a second (a paste without bracketed paste; keys due in the
same 5 ms are posted together, as one read would deliver them). The keys are
letters and spaces with a Backspace about every 20 keys and Ctrl+J (new line)
about every 70, so bound keys and plain characters interleave.

Measured for each rate:

- lost and reordered keys (both must be 0): the prompt's final text against
  the text the keys make when applied in order (``lost`` = expected
  characters not matched in order, ``reordered`` = characters present but out
  of place);
- echo: each key from the moment it was posted until the first frame the app
  hands to its driver after the prompt applied it; p50/p95/max.

Headless Textual composes every frame but skips writing it to a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import random
import string
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events

from bench.common import emit_json, isolated_home, percentile, record
from bench.synthetic import PacedEngine, markdown_tokens

SIZE = (100, 30)
TYPING_S = 6.0
"""How long keys are typed, from the stream's start (the stream lasts 10 s at 20,000)."""
TICK_S = 0.005


def key_stream(count: int, seed: int = 11) -> list[tuple[str, str | None]]:
    """``count`` (key, character) pairs: letters, spaces, Backspace, Ctrl+J."""
    rng = random.Random(seed)
    keys: list[tuple[str, str | None]] = []
    for index in range(count):
        if index % 70 == 69:
            keys.append(("ctrl+j", "\n"))
        elif rng.random() < 0.05:
            keys.append(("backspace", "\x7f"))
        elif rng.random() < 0.15:
            keys.append(("space", " "))
        else:
            char = rng.choice(string.ascii_lowercase)
            keys.append((char, char))
    return keys


def expected_text(keys: list[tuple[str, str | None]]) -> str:
    """What the prompt holds after ``keys`` applied in order (the cursor stays at the end)."""
    text: list[str] = []
    for key, char in keys:
        if key == "backspace":
            if text:
                text.pop()
        elif char is not None:
            text.append(char)
    return "".join(text)


class Typist:
    """Posts keys at ``cps`` from a thread; times each from posting to its first frame."""

    def __init__(self, app: Any, prompt: Any, keys: list[tuple[str, str | None]], cps: float):
        self.app, self.prompt, self.keys, self.cps = app, prompt, keys, cps
        self.sent_at: list[float] = []
        self.echo_ms: list[float] = []
        self._applied = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _post(self) -> None:
        start = time.perf_counter()
        for index, (key, char) in enumerate(self.keys):
            due = start + index / self.cps
            while (delay := due - time.perf_counter()) > 0:
                if self._stop.wait(min(delay, TICK_S)):
                    return
            with self._lock:
                self.sent_at.append(time.perf_counter())
            self.app.post_message(events.Key(key, char))

    def _hook(self) -> Any:
        prompt, app = self.prompt, self.app
        applied, display = prompt.key_applied, app._display

        def counting(count: int = 1) -> None:
            self._applied += count
            applied(count)

        def framing(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if renderable is None:
                return
            now = time.perf_counter()
            with self._lock:
                while len(self.echo_ms) < min(self._applied, len(self.sent_at)):
                    self.echo_ms.append((now - self.sent_at[len(self.echo_ms)]) * 1000)

        prompt.key_applied = counting
        app._display = framing

        def undo() -> None:
            del prompt.key_applied
            del app._display

        return undo

    async def run(self) -> None:
        undo = self._hook()
        thread = threading.Thread(target=self._post, daemon=True)
        thread.start()
        try:
            while thread.is_alive():
                await asyncio.sleep(0.02)
            deadline = time.perf_counter() + 30
            while self._applied < len(self.keys) and time.perf_counter() < deadline:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)  # a last frame
        finally:
            self._stop.set()
            undo()


def compare(expected: str, got: str) -> dict[str, int]:
    matched = sum(block.size for block in difflib.SequenceMatcher(
        None, expected, got, autojunk=False).get_matching_blocks())
    return {"lost": len(expected) - matched, "reordered": len(got) - matched}


async def typing_during_stream(tokens: int, rate: float, cps: float) -> dict[str, Any]:
    from offyai_tui.settings.config import Settings
    from offyai_tui.settings.workspace import Workspace
    from offyai_tui.ui.app import make_app
    from offyai_tui.ui.screens.chat import ChatScreen

    engine = PacedEngine(markdown_tokens(tokens), rate)
    app = make_app(settings=Settings(), workspace=Workspace.open("default"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        while not (isinstance(app.screen, ChatScreen) and app.screen.keys_ready):
            await pilot.pause(0.02)
        screen = app.screen
        prompt = screen.prompt
        prompt.load_text("Write a very long answer, with sections, lists and code.")
        app.post_message(events.Key("enter", "\r"))
        while not engine.started_at:
            await asyncio.sleep(0.01)
        typing_s = min(TYPING_S, 0.6 * engine.nominal_s)
        keys = key_stream(max(1, int(cps * typing_s)))
        typist = Typist(app, prompt, keys, cps)
        await typist.run()
        streamed_past_typing = engine.ended_at == 0 or engine.ended_at > typist.sent_at[-1]
        got = prompt.text
        screen.action_stop()
        while screen.generating:
            await asyncio.sleep(0.02)
    expected = expected_text(keys)
    echo = typist.echo_ms
    return {
        "cps": cps,
        "keys": len(keys),
        **compare(expected, got),
        "exact": got == expected,
        "typed_while_streaming": streamed_past_typing,
        "echo_p50_ms": round(percentile(echo, 50), 1),
        "echo_p95_ms": round(percentile(echo, 95), 1),
        "echo_max_ms": round(max(echo), 1) if echo else float("nan"),
    }


async def measure(tokens: int, rate: float, rates: list[float]) -> dict[str, Any]:
    out: dict[str, Any] = {"tokens": tokens, "rate_tok_s": rate, "terminal": f"{SIZE[0]}x{SIZE[1]}",
                           "typing": {}}
    for cps in rates:
        entry = await typing_during_stream(tokens, rate, cps)
        print(f"  {cps:g} chars/s: lost {entry['lost']}, reordered {entry['reordered']}, "
              f"echo p95 {entry['echo_p95_ms']} ms", file=sys.stderr)
        out["typing"][f"{cps:g}"] = entry
    return out


def print_table(result: dict[str, Any]) -> None:
    print(f"keys typed during a {result['tokens']:,}-token stream at "
          f"{result['rate_tok_s']:.0f} tok/s, {result['terminal']}")
    for cps, entry in result["typing"].items():
        print(f"  {cps:>5} chars/s  {entry['keys']:>5} keys  lost {entry['lost']}  reordered "
              f"{entry['reordered']}  echo p50 {entry['echo_p50_ms']} / p95 "
              f"{entry['echo_p95_ms']} / max {entry['echo_max_ms']} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=20000)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--cps", type=float, nargs="+", default=[30.0, 1000.0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    with isolated_home():
        result = asyncio.run(measure(args.tokens, args.rate, args.cps))
    print_table(result)
    record("key_bursts", result)
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
