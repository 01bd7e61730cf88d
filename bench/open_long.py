"""Opening a 1,000-message conversation in the chat screen.

    python bench/open_long.py [--messages 1000] [--rounds 3] [--json]

Conversations are written through the chat API (``Conversation.add_user``,
``start_reply``, ``ReplyHandle.apply``), so their transcripts are exactly what
the app writes: 500 prompts and 500 Markdown answers with paragraphs, lists
and code. The real app then runs headless at 100x30 and opens each through
``ChatScreen.open_conversation`` (what the sidebar and search do): the time
runs from reading the transcript until a screen refresh has followed. Each
round opens a fresh 1,000-message conversation and a fresh 2-message one, so
no transcript is served from memory. ``run_all`` also divides the median by
the Textual hello-world cold start of the same run (target: under 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit_json, isolated_home, median, record
from bench.synthetic import MODEL, PacedEngine, markdown_tokens
from offyai_tui.engines.base import ChatStats, Done, TextDelta

SIZE = (100, 30)


async def write_conversation(store: Any, messages: int, seed: int) -> str:
    """A conversation of ``messages`` messages (alternating prompt and answer); its id."""
    from offyai_tui.chat import TokenCounter

    conversation = store.create(model=MODEL)
    counter = TokenCounter(None, MODEL)
    for turn in range(messages // 2):
        conversation.add_user(f"Question {turn}: how does part {turn} of the design work?")
        handle = await conversation.start_reply(counter, model=MODEL)
        answer = "".join(markdown_tokens(60 + (turn * 37 + seed) % 240, seed=seed * 1000 + turn))
        handle.apply(TextDelta(answer))
        handle.apply(Done(ChatStats(model=MODEL, completion_tokens=120, tokens_per_s=50.0)))
    return str(conversation.id)


async def prepare(messages: int, rounds: int) -> tuple[list[str], list[str], float]:
    from offyai_tui.chat import ConversationStore
    from offyai_tui.settings.workspace import Workspace

    started = time.perf_counter()
    store = ConversationStore.open(Workspace.open("default"))
    try:
        big = [await write_conversation(store, messages, seed) for seed in range(rounds)]
        small = [await write_conversation(store, 2, 100 + seed) for seed in range(rounds)]
    finally:
        store.close()
    return big, small, time.perf_counter() - started


async def measure(messages: int, rounds: int) -> dict[str, Any]:
    from offyai_tui.settings.config import Settings
    from offyai_tui.settings.workspace import Workspace
    from offyai_tui.ui.app import make_app
    from offyai_tui.ui.screens.chat import ChatScreen

    big, small, written_s = await prepare(messages, rounds)
    app = make_app(
        settings=Settings(),
        workspace=Workspace.open("default"),
        engine=PacedEngine(["ok"] * 8, 1000.0),
    )
    timings: dict[str, list[float]] = {"big": [], "small": []}
    mounted = 0
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 30
        while not (isinstance(app.screen, ChatScreen) and app.screen.is_mounted):
            if time.monotonic() > deadline:
                raise RuntimeError("the chat screen did not open")
            await pilot.pause(0.05)
        screen = app.screen
        assert isinstance(screen, ChatScreen) and app.store is not None
        await pilot.pause()
        for index in range(rounds):
            for kind, conv_id in (("small", small[index]), ("big", big[index])):
                started = time.perf_counter()
                conversation = app.store.load(conv_id)
                await screen.open_conversation(conversation)
                await screen.wait_for_refresh()
                timings[kind].append(time.perf_counter() - started)
                if kind == "big":
                    mounted = len(screen.messages.views)
                    if len(conversation.messages) != messages:
                        raise RuntimeError(f"loaded {len(conversation.messages)} messages")
                await pilot.pause(0.1)
    big_s, small_s = median(timings["big"]), median(timings["small"])
    return {
        "messages": messages,
        "rounds": rounds,
        "mounted_views": mounted,
        "open_ms": round(big_s * 1000, 1),
        "open_small_ms": round(small_s * 1000, 1),
        "ratio_to_small": round(big_s / small_s, 2) if small_s else None,
        "ok": big_s < 1.0,
        "write_s": round(written_s, 1),
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"open a {result['messages']}-message conversation: {result['open_ms']} ms "
        f"(x{result['ratio_to_small']} of a 2-message one, {result['open_small_ms']} ms; "
        f"{result['mounted_views']} messages mounted; target < 1000 ms)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    with isolated_home():
        result = asyncio.run(measure(args.messages, args.rounds))
    print_table(result)
    record("open_long", result)
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
