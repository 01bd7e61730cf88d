"""Property tests: any sequence of sends, regenerates, edits, stops, continues, cycles
and deletes reloads to the same tree, the same shown branch and the same memory of
which branch each variant leads to; also after the writing process is killed with
SIGKILL in the middle of an answer (a real process, ``tests/chat/variant_ops.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offyai_tui.chat import ConversationStore
from offyai_tui.settings.workspace import Workspace
from tests.chat.variant_ops import Clock, run, snapshot

REPO = Path(__file__).resolve().parents[2]
texts = st.text(alphabet="ab \n\u00e9\u2028\"{", max_size=12)
ends = st.sampled_from(["finish", "stop"])
picks = st.integers(min_value=0, max_value=20)
answering = st.one_of(
    st.tuples(st.just("send"), texts, ends),
    st.tuples(st.just("regenerate"), texts, ends),
    st.tuples(st.just("edit"), picks, texts, ends),
    st.tuples(st.just("continue"), texts, ends),
)
ops = st.one_of(
    answering,
    st.tuples(st.just("cycle"), picks, st.sampled_from([-1, 1])),
    st.tuples(st.just("delete"), picks),
).map(list)
last_ops = st.one_of(
    st.tuples(st.just("send"), texts.filter(bool), ends),
    st.tuples(st.just("regenerate"), texts.filter(bool), ends),
    st.tuples(st.just("edit"), picks, texts.filter(bool), ends),
    st.tuples(st.just("continue"), texts.filter(bool), ends),
).map(list)
"""The answer the writer is killed in: with text, so a checkpoint holds some of it."""


def reloaded(workspace: Workspace, conv_id: str) -> dict[str, Any]:
    with ConversationStore.open(workspace, read_only=True) as store:
        conv = store.load(conv_id)
        assert conv.warnings == []
        return snapshot(conv)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(ops, max_size=14))
async def test_any_sequence_reloads_to_the_same_tree_and_branch(
    workspace: Workspace, sequence: list[list[Any]]
) -> None:
    clock = Clock()
    with ConversationStore.open(workspace, clock=clock) as store:
        conv = store.create()
        open_answer = await run(conv, clock, [*sequence, ["cycle", 0, 1]])
        assert open_answer is None
        live = snapshot(conv)
    if not conv.saved:
        return
    assert reloaded(workspace, conv.id) == live
    for leaf in live["follow"].values():  # every branch ends in a message with no reply
        assert not [m for m in live["tree"] if m[1] == leaf]


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(ops, max_size=8), last_ops)
def test_a_writer_killed_mid_answer_reloads_to_what_it_held(
    workspace: Workspace, sequence: list[list[Any]], last: list[Any]
) -> None:
    before = [["send", "cut short", "stop" if last[0] == "continue" else "finish"]]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.chat.variant_ops", workspace.name,
         json.dumps([["send", "first", "finish"], *sequence, *before, last])],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])},
    )
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line, child.stderr.read() if child.stderr else ""
        held = json.loads(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    conv_id = held.pop("id")
    assert reloaded(workspace, conv_id) == held
    assert held["tree"] and any(m[2] == "interrupted" for m in held["tree"])
