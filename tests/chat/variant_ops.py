"""Sequences of sends, regenerates, edits, stops, continues, cycles and deletes, applied
to a real conversation: shared by the property tests and the writer process they
kill (``python -m tests.chat.variant_ops WORKSPACE OPS_JSON``).

Answers are written through ``ReplyHandle`` as an engine's deltas would be, half,
then a checkpoint, then the rest, so a crash can land mid-answer. The child prints
what it holds (the tree, the shown branch, where each message's branch leads) once
its last answer is checkpointed, then waits to be killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from offyai_tui.chat import Conversation, ConversationStore, ReplyHandle, TokenCounter
from offyai_tui.settings.workspace import Workspace

Op = list[Any]
"""``["send", text, end]``, ``["regenerate", text, end]``, ``["edit", pick, text, end]``,
``["continue", text, end]``, ``["cycle", pick, step]``, ``["delete", pick]``;
``end`` is ``finish`` or ``stop``."""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def snapshot(conv: Conversation, streaming: ReplyHandle | None = None) -> dict[str, Any]:
    """The state a reload must reproduce; a streaming answer as a crash leaves it."""
    tree = []
    for m in conv.tree:
        status = m.status
        if streaming is not None and m is streaming.message:
            status = "interrupted"
        tree.append([m.id, m.parent_id, status, m.content])
    return {
        "tree": tree,
        "branch": [m.id for m in conv.messages],
        "follow": {m.id: conv.tree.follow(m.id) for m in conv.tree},
    }


async def apply(conv: Conversation, clock: Clock, op: Op, *, leave_open: bool = False
                ) -> ReplyHandle | None:
    """Apply one operation; with ``leave_open`` an answer it starts is left streaming
    (checkpointed) and returned. Operations that do not apply here are skipped."""
    kind = op[0]
    prompts = [m for m in conv.messages if m.role == "user"]
    if kind == "cycle":
        if conv.messages:
            conv.cycle(conv.messages[op[1] % len(conv.messages)].id, op[2])
        return None
    if kind == "delete":
        if prompts:
            conv.delete_turn(prompts[op[1] % len(prompts)].id)
        return None
    text, end = op[-2], op[-1]
    counter = TokenCounter()
    if kind == "send":
        conv.add_user(f"q {len(conv.tree)}")
        handle = await conv.start_reply(counter, model="m")
    elif kind == "regenerate":
        if not prompts:
            return None
        handle = await conv.start_reply(counter, model="m", below=conv.regenerate_target().id)
    elif kind == "edit":
        if not prompts:
            return None
        conv.edit_prompt(prompts[op[1] % len(prompts)].id, f"edited {len(conv.tree)}")
        handle = await conv.start_reply(counter, model="m")
    elif kind == "continue":
        last = conv.messages[-1] if conv.messages else None
        if last is None or conv.continue_problem(last.id):
            return None
        handle = await conv.start_continue(last.id, counter, model="m")
    else:
        raise ValueError(kind)
    half = len(text) // 2
    handle.append(text[:half])
    clock.now += 2
    handle.append(text[half:])
    handle.checkpoint_if_due()
    if leave_open:
        return handle
    handle.stop() if end == "stop" else handle.finish()
    return None


async def run(conv: Conversation, clock: Clock, ops: list[Op]) -> ReplyHandle | None:
    """Every operation in turn; the last one's answer is left open."""
    handle = None
    for i, op in enumerate(ops):
        handle = await apply(conv, clock, op, leave_open=i == len(ops) - 1)
    return handle


def main(argv: list[str]) -> None:
    workspace, ops = Workspace.open(argv[0]).ensure(), json.loads(argv[1])
    clock = Clock()
    store = ConversationStore.open(workspace, clock=clock)
    conv = store.create()
    handle = asyncio.run(run(conv, clock, ops))
    print(json.dumps({"id": conv.id, **snapshot(conv, handle)}), flush=True)
    time.sleep(600)  # killed here, mid-answer when the last operation left one open


if __name__ == "__main__":
    main(sys.argv[1:])
