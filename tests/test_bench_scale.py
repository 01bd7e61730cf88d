"""bench/scale.py still runs against the current app (tiny sizes, no timing asserted)."""

from __future__ import annotations

import argparse

from bench import report, scale
from bench.scale_data import RARE_WORD, build_conversations
from offyai_tui.settings.workspace import Workspace


async def test_the_conversations_section_drives_enter_switch_and_search() -> None:
    ids = build_conversations(Workspace.open("default").chats_dir, 40)
    caches = scale.prepare_caches()
    assert caches["search_index_build_s"] >= 0
    result = await scale.interact_conversations(ids, rounds=1)
    assert set(result["search_by_query_ms"]) == set(scale.QUERIES)
    assert RARE_WORD in scale.QUERIES and result["enter_ms"] > 0


def test_the_long_chat_section_reaches_the_top_and_reports() -> None:
    args = argparse.Namespace(messages=120, presses=2)
    result = scale.long_chat(args)
    assert result["home_reached"] and result["mounted_after_home"] <= 60, result
    rows = report.table({"scale": {"long_chat": result, "load": [1.0]}})
    assert any("Home to the first message" in row for row in rows), rows
