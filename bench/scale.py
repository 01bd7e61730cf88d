"""Years of use: a workspace of many conversations, and one very long chat.

    python bench/scale.py [--conversations 10000] [--messages 10000] [--quick] [--json]
    python bench/scale.py --sections conversations      (one section only)
    python bench/scale.py --sections index [--index-chunks 1000000]

Data is written in the app's own formats (:mod:`bench.scale_data`) into a temp
``OFFYAI_HOME``. Sections, each a function of :data:`SECTIONS` returning one
dict (a later section, e.g. a documents index, is one more entry):

- ``conversations``: first frame of the real ``offyai`` in a 100x30 pty with
  N conversations, against the same binary on an empty workspace, rounds
  taken in turns (target x1.3); then the app headless (``run_test``) on that
  workspace: Enter -> the prompt shown in the conversation (target 150 ms),
  switching conversations from the sidebar (300 ms), search p95 over queries
  that are common, rare, absent, short and non-ASCII (200 ms) typed into the
  search screen, and the work left after the last key of a query typed at
  20 keys/s. The same steps on 10 conversations are the baseline of the ratios
  (what the screen costs whatever the workspace).
- ``long_chat``: one chat of M messages opened in the app headless; PageUp
  p50/p95 near the bottom and after Home (50 ms; key to the first frame showing
  the moved list, pressed every 0.3 s as a fast reader would), the time for Home to reach
  the first message (5 s, stopped at a cap and extrapolated if slower), and the
  process's RSS after that (300 MB).

- ``index``: a documents index of K chunks (:mod:`bench.scale_index`): adding a
  10-chunk file (1 s, peak memory 1.2x the index's vectors), loading (peak 1.5x),
  hybrid and keyword-only search p95 (150 and 100 ms).

``--quick`` (what ``make bench`` runs) uses 2,000 conversations, a
2,000-message chat and a 100,000-chunk index; the targets are the same.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import scale_index
from bench.common import emit_json, isolated_home, median, percentile, record
from bench.scale_data import NON_ASCII_WORD, RARE_WORD, build_conversations, build_long_chat

SIZE = (100, 30)
QUERIES = ["the", "model answer", RARE_WORD, "absentword", "qx", "é", "Größen",
           NON_ASCII_WORD.lower(), "ñandúzzz", "Lisbon"]
PACE_S = 0.3
"""Between PageUp presses: a fast reader (the list mounts ahead meanwhile)."""
HOME_CAP_S = 60.0
"""Stop pressing Home after this long and extrapolate (the old list needed ~25 min)."""


async def _until(condition: Callable[[], bool], pilot: Any, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError("condition not reached in time")
        await pilot.pause(0.002)


def _app():
    from bench.synthetic import PacedEngine
    from offyai_tui.settings.config import Settings
    from offyai_tui.settings.workspace import Workspace
    from offyai_tui.ui.app import make_app

    return make_app(settings=Settings(), workspace=Workspace.open("default"),
                    engine=PacedEngine(["ok ", "fine."] * 4, 2000.0))


async def _chat_ready(app: Any, pilot: Any) -> Any:
    from offyai_tui.ui.screens.chat import ChatScreen

    await _until(lambda: isinstance(app.screen, ChatScreen) and app.screen.keys_ready, pilot)
    await pilot.pause(0.5)
    return app.screen


async def interact_conversations(ids: list[str], rounds: int) -> dict[str, Any]:
    """Enter, switch and search timings in the app on the current ``OFFYAI_HOME``."""
    from textual.widgets import Input

    from offyai_tui.ui.screens.search import SearchScreen
    from offyai_tui.ui.widgets.chat.conversation_list import ConversationSidebar

    enter, switch, search, tails = [], [], {q: [] for q in QUERIES}, []
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _chat_ready(app, pilot)
        for turn in range(rounds):
            text = f"bench prompt {turn}"
            screen.prompt.insert(text)
            started = time.perf_counter()
            await pilot.press("enter")
            await _until(lambda t=text: any(v.message.content == t
                                            for v in screen.messages.views), pilot)
            await screen.wait_for_refresh()
            enter.append(time.perf_counter() - started)
            await _until(lambda: not screen.generating, pilot)
            await pilot.pause(0.2)
        sidebar = screen.query_one(ConversationSidebar)
        for turn in range(rounds):
            target = ids[(turn * 37 + 11) % len(ids)]
            started = time.perf_counter()
            sidebar.post_message(ConversationSidebar.Selected(target))
            await _until(lambda t=target: screen.conversation.id == t, pilot)
            await screen.wait_for_refresh()
            switch.append(time.perf_counter() - started)
            await pilot.pause(0.1)
        shown: dict[str, str] = {}
        search_screen = SearchScreen(app.store)
        original = search_screen._show

        def spy(query: str, hits: list) -> None:
            original(query, hits)
            shown["query"] = query

        search_screen._show = spy  # type: ignore[method-assign]
        await app.push_screen(search_screen)
        await pilot.pause(0.2)
        box = search_screen.query_one("#query", Input)
        for _ in range(max(1, rounds // 2)):
            for query in QUERIES:
                shown.clear()
                started = time.perf_counter()
                box.value = query
                await _until(lambda q=query: shown.get("query") == q, pilot)
                search[query].append(time.perf_counter() - started)
                await pilot.pause(0.05)
            for query in ("model answers", NON_ASCII_WORD.lower()):
                box.value = ""
                await pilot.pause(0.1)
                shown.clear()
                for index in range(1, len(query) + 1):
                    box.value = query[:index]
                    last = time.perf_counter()
                    await pilot.pause(0.05)
                await _until(lambda q=query: shown.get("query") == q, pilot)
                tails.append(max(0.0, time.perf_counter() - last))
    every = [value for values in search.values() for value in values]
    return {
        "enter_ms": round(median(enter) * 1000, 1),
        "switch_ms": round(median(switch) * 1000, 1),
        "search_p50_ms": round(median(every) * 1000, 1),
        "search_p95_ms": round(percentile(every, 95) * 1000, 1),
        "search_slowest": max(search, key=lambda q: max(search[q])),
        "search_by_query_ms": {q: round(median(v) * 1000, 1) for q, v in search.items()},
        "typing_tail_ms": round(max(tails) * 1000, 1),
    }


def first_frames(empty_home: Path, full_home: Path, rounds: int) -> dict[str, Any]:
    """The real binary's first frame on an empty and on the full workspace, in turns."""
    from bench.startup import OFFYAI_MARK, child_env, start_once

    offyai = str(Path(sys.executable).with_name("offyai"))
    times: dict[str, list[float]] = {"empty": [], "full": []}
    for index in range(rounds + 1):
        for name, home in (("empty", empty_home), ("full", full_home)):
            env = child_env()
            env["OFFYAI_HOME"] = str(home)
            start = start_once([offyai], OFFYAI_MARK, env)
            if index:  # the first round warms the disk cache and bytecode
                times[name].append(start.first_frame_s)
    paired = [f / e for f, e in zip(times["full"], times["empty"])]
    return {
        "first_frame_empty_ms": round(median(times["empty"]) * 1000),
        "first_frame_full_ms": round(median(times["full"]) * 1000),
        "first_frame_ratio": round(median(paired), 2),
    }


def prepare_caches() -> dict[str, Any]:
    """What a workspace in use has: the listing cache and a complete search index.

    The app builds both itself (the search index in the background after the
    first frame); built here once so every measured start sees a workspace in
    its steady state, and the one-time build is reported.
    """
    from offyai_tui.chat import ConversationStore
    from offyai_tui.settings.workspace import Workspace

    store = ConversationStore.open(Workspace.open("default"))
    try:
        started = time.perf_counter()
        store.list()
        listed = time.perf_counter() - started
        build = getattr(store, "build_search_index", None)
        started = time.perf_counter()
        if build is not None:
            build()
        indexed = time.perf_counter() - started
    finally:
        store.close()
    return {"first_listing_s": round(listed, 2), "search_index_build_s": round(indexed, 1)}


def conversations(args: argparse.Namespace) -> dict[str, Any]:
    from offyai_tui.settings.workspace import Workspace

    with isolated_home() as empty, isolated_home() as home:
        started = time.perf_counter()
        ids = build_conversations(Workspace.open("default").chats_dir, args.conversations)
        built_s = time.perf_counter() - started
        result: dict[str, Any] = {"conversations": args.conversations,
                                  "build_s": round(built_s, 1)}
        result.update(prepare_caches())
        result.update(first_frames(empty, home, args.rounds))
        result.update(asyncio.run(interact_conversations(ids, args.rounds)))
    with isolated_home():  # the same steps on 10 conversations: the baseline of the ratios
        few = build_conversations(Workspace.open("default").chats_dir, 10)
        prepare_caches()
        small = asyncio.run(interact_conversations(few, args.rounds))
    for key in ("enter_ms", "switch_ms", "search_p95_ms"):
        result[f"{key}_10_chats"] = small[key]
        result[f"{key[:-3]}_ratio"] = round(result[key] / small[key], 2) if small[key] else None
    result["ok"] = (result["first_frame_ratio"] <= 1.3 and result["enter_ms"] <= 150
                    and result["switch_ms"] <= 300 and result["search_p95_ms"] <= 200)
    return result


async def page_long_chat(conv_id: str, messages: int, presses: int) -> dict[str, Any]:
    import psutil
    from textual import events

    from offyai_tui.ui.widgets.chat.conversation_list import ConversationSidebar

    app = _app()
    near, deep = [], []
    async with app.run_test(size=SIZE) as pilot:
        screen = await _chat_ready(app, pilot)
        screen.query_one(ConversationSidebar).post_message(ConversationSidebar.Selected(conv_id))
        await _until(lambda: screen.conversation.id == conv_id, pilot)
        await pilot.pause(0.3)
        listing = screen.messages
        listing.focus()

        frames: list[float] = []
        display = app._display

        def recorded(*args: Any) -> None:  # every frame the app writes to its terminal
            display(*args)
            frames.append(time.perf_counter())

        app._display = recorded  # type: ignore[method-assign]

        async def page(into: list[float], key: str = "pageup") -> None:
            """Key -> the first frame showing the moved list, at a reader's pace."""
            for _ in range(presses):
                before, count = listing.scroll_y, len(frames)
                started = time.perf_counter()
                app.post_message(events.Key(key, None))
                await _until(lambda b=before, c=count: len(frames) > c
                             and listing.scroll_y != b, pilot, 10)
                into.append(frames[-1] - started)
                await pilot.pause(PACE_S)

        await page(near)
        started = time.perf_counter()
        first_id = screen.conversation.messages[0].id
        presses_home = 0
        while time.perf_counter() - started < HOME_CAP_S:
            await pilot.press("home")
            presses_home += 1
            await pilot.pause(0.01)
            if listing.view_for(first_id) is not None and listing.scroll_y <= 0:
                break
        home_s = time.perf_counter() - started
        reached = listing.view_for(first_id) is not None
        mounted_after_home = len(listing.views)
        rss_mb = psutil.Process().memory_info().rss / 2**20
        # From the top down a little (deep in the chat), then PageUp back up.
        await page([], "pagedown")
        await page(deep)
        shown_left = listing.hidden_count
    if not reached:  # extrapolate from the fraction loaded so far
        loaded = max(1, messages - shown_left)
        home_s = home_s * messages / loaded
    return {
        "messages": messages,
        "pageup_p50_ms": round(median(near) * 1000, 1),
        "pageup_p95_ms": round(percentile(near + deep, 95) * 1000, 1),
        "pageup_deep_p50_ms": round(median(deep) * 1000, 1),
        "home_to_top_s": round(home_s, 2),
        "home_reached": reached,
        "home_presses": presses_home,
        "mounted_after_home": mounted_after_home,
        "rss_mb": round(rss_mb, 1),
    }


def long_chat(args: argparse.Namespace) -> dict[str, Any]:
    from offyai_tui.settings.workspace import Workspace

    with isolated_home():
        conv_id = build_long_chat(Workspace.open("default").chats_dir, args.messages)
        result = asyncio.run(page_long_chat(conv_id, args.messages, args.presses))
    result["ok"] = (result["home_to_top_s"] <= 5 and result["rss_mb"] <= 300
                    and result["pageup_p95_ms"] <= 50)
    return result


def index(args: argparse.Namespace) -> dict[str, Any]:
    return scale_index.measure(args.index_chunks, max(2, min(args.rounds, 3)))


SECTIONS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "conversations": conversations,
    "long_chat": long_chat,
    "index": index,
}


def report_rows(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows for ``make bench``'s table (bench/report.py): figure, target, ok/MISSED."""

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    rows: list[tuple[str, str, str, str]] = []
    conv = data.get("conversations") or {}
    if "enter_ms" in conv:
        n = f"{conv['conversations']:,} chats"
        rows += [
            (f"{n}: first frame / empty workspace", f"x{conv['first_frame_ratio']}",
             "<= x1.3", mark(conv["first_frame_ratio"] <= 1.3)),
            (f"{n}: Enter -> prompt shown", f"{conv['enter_ms']:.0f} ms "
             f"(x{conv.get('enter_ratio')} of 10 chats)", "<= 150 ms",
             mark(conv["enter_ms"] <= 150)),
            (f"{n}: switch conversation", f"{conv['switch_ms']:.0f} ms "
             f"(x{conv.get('switch_ratio')})", "<= 300 ms", mark(conv["switch_ms"] <= 300)),
            (f"{n}: search p95 (any query)", f"{conv['search_p95_ms']:.0f} ms", "<= 200 ms",
             mark(conv["search_p95_ms"] <= 200)),
        ]
    chat = data.get("long_chat") or {}
    if "rss_mb" in chat:
        n = f"{chat['messages']:,}-msg chat"
        rows += [
            (f"{n}: Home to the first message", f"{chat['home_to_top_s']:.2f} s", "<= 5 s",
             mark(chat["home_to_top_s"] <= 5)),
            (f"{n}: PageUp key -> frame p95", f"{chat['pageup_p95_ms']:.0f} ms", "<= 50 ms",
             mark(chat["pageup_p95_ms"] <= 50)),
            (f"{n}: RSS after Home", f"{chat['rss_mb']:.0f} MB", "<= 300 MB",
             mark(chat["rss_mb"] <= 300)),
        ]
    rows += scale_index.report_rows(data.get("index") or {})
    if rows and data.get("load"):
        rows.append(("  (load during scale runs)", f"{data['load'][0]}", "", ""))
    return rows


def print_table(result: dict[str, Any]) -> None:
    conv = result.get("conversations")
    if conv:
        print(f"{conv['conversations']:,} conversations: first frame x{conv['first_frame_ratio']}"
              f" of an empty workspace ({conv['first_frame_full_ms']} vs "
              f"{conv['first_frame_empty_ms']} ms; target x1.3); Enter -> prompt shown "
              f"{conv['enter_ms']} ms (150; x{conv['enter_ratio']} of 10 chats); switch "
              f"{conv['switch_ms']} ms (300; x{conv['switch_ratio']}); search p95 "
              f"{conv['search_p95_ms']} ms (200; x{conv['search_p95_ratio']}; slowest "
              f"{conv['search_slowest']!r}); typing tail {conv['typing_tail_ms']} ms")
    chat = result.get("long_chat")
    if chat:
        reached = "" if chat["home_reached"] else " (extrapolated)"
        print(f"{chat['messages']:,}-message chat: Home to the top {chat['home_to_top_s']} s"
              f"{reached} (target 5 s); PageUp p95 {chat['pageup_p95_ms']} ms (50; p50 "
              f"{chat['pageup_p50_ms']} near the end, {chat['pageup_deep_p50_ms']} deep); RSS "
              f"{chat['rss_mb']} MB (300); {chat['mounted_after_home']} messages mounted")
    if result.get("index"):
        print(scale_index.describe(result["index"]))
    print(f"load average: {result['load']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--index-chunks", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true",
                        help="2,000 of each, a 100,000-chunk index, fewer rounds")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    if args.quick:
        args.conversations, args.messages = 2000, 2000
        args.index_chunks = min(args.index_chunks, 100_000)
        args.rounds, args.presses = 3, 10
    result: dict[str, Any] = {"load": [round(x, 2) for x in os.getloadavg()]}
    for name in args.sections.split(","):
        result[name] = SECTIONS[name](args)
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print_table(result)
    record("scale", result)
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
