"""The benchmarks still run against the current app (tiny sizes, no timing asserted).

Benchmarks are not tests; this only keeps them from rotting when the screens,
engines or chat API they drive change shape.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import key_bursts, open_long, report, startup, streaming
from bench.engines import Run, summarize
from bench.screen_speed import shown_speed
from bench.synthetic import END_MARK, markdown_tokens
from offyai_tui.ui.widgets.chat.message_view import stats_text


def test_synthetic_stream_has_exact_length_and_ends_with_the_mark() -> None:
    tokens = markdown_tokens(200)
    assert len(tokens) == 200
    text = "".join(tokens)
    assert text.endswith(END_MARK)
    assert text.count("```") % 2 == 0


async def test_chat_screen_stream_reaches_the_screen() -> None:
    result = await streaming.chat_screen_stream(200, 2000.0)
    assert result["render_ratio"] is not None, result
    assert result["keys_idle"]["n"] == streaming.IDLE_KEYS
    assert result["keys_idle"]["missed"] == 0


async def test_keys_typed_during_a_stream_are_all_applied_in_order() -> None:
    result = await key_bursts.typing_during_stream(400, 2000.0, 1000.0)
    assert result["keys"] > 50 and result["exact"], result
    assert result["lost"] == result["reordered"] == 0
    rows = report.table({"key_bursts": {"tokens": 400, "typing": {"1000": result}}})
    assert any("0 lost / 0 reordered" in row for row in rows), rows


async def test_markdown_baseline_stream_reaches_the_screen() -> None:
    result = await streaming.markdown_baseline_stream(200, 2000.0)
    assert result["render_ratio"] is not None, result


def test_stats_line_speed_is_readable() -> None:
    line = stats_text({"completion_tokens": 40, "tokens_per_s": 123.45, "ttft_s": 0.2}, "m")
    assert shown_speed(line) == 123.5  # the chat screen shows one decimal


def test_engine_summary_ratios_pair_rounds() -> None:
    raw = [Run(0.010, 11, 1.0, 1.0, "a"), Run(0.020, 11, 2.0, 2.0, "a")]
    adapter = [Run(0.015, 11, 1.0, 1.0, "a"), Run(0.030, 11, 4.0, 4.0, "b")]
    summary = summarize({"raw": raw, "llamacpp": adapter})
    assert summary["llamacpp"]["speed_ratio"] == 0.75  # median of 1.0 and 0.5
    assert summary["llamacpp"]["added_ttft_ms"] == 7.5
    assert summary["llamacpp"]["same_text_as_raw"] is False


async def test_long_conversation_opens_in_the_chat_screen() -> None:
    result = await open_long.measure(messages=10, rounds=1)
    assert result["mounted_views"] == 10


@pytest.mark.slow
def test_offyai_and_hello_world_draw_their_first_frame_in_a_pty() -> None:
    env = startup.child_env()
    offyai = str(Path(sys.executable).with_name("offyai"))
    hello = startup.start_once(
        [sys.executable, str(startup.REPO / "bench" / "hello_app.py")], startup.HELLO_MARK, env
    )
    app = startup.start_once([offyai], startup.OFFYAI_MARK, env, settle=0.5)
    assert hello.exit_code == 0
    assert app.exit_code == 0
    assert app.rss_mb > 0


async def test_report_table_reads_what_the_benches_write() -> None:
    stream = await streaming.markdown_baseline_stream(200, 2000.0)
    runs = [Run(0.01, 11, 1.0, 1.0, "a")]
    results = {
        "engines": {"paths": summarize({"raw": runs, "llamacpp": runs})},
        "streaming": {"sizes": {"200": {"chat_screen": stream, "markdown_baseline": stream}}},
        "open_long": await open_long.measure(messages=4, rounds=1),
        "startup": {"first_frame_ms": {"offyai": 400, "hello": 200}, "cold_start_ratio": 2.0},
    }
    lines = report.table(results)
    text = "\n".join(lines)
    assert "engine llamacpp: tok/s / raw" in text
    assert "render 200 tok" in text
    assert "open 4-msg chat" in text
    assert "unreadable" not in text and "FAILED" not in text


@pytest.mark.slow
def test_ttft_bench_times_both_paths_and_reports_the_ratio(tmp_path: Path) -> None:
    from bench import ttft
    from offyai_tui.engines import bundled

    model = bundled.smollm2_path()
    text = ttft.prompts([256], model)[256]
    paths = ttft.commands(model, tmp_path)
    seconds = {}
    for name in ("raw", "offyai"):
        command, env = paths[name]
        seconds[name] = ttft.first_byte_s(command, text, env)
    assert all(s > 0 for s in seconds.values())
    entry = {"raw_s": seconds["raw"],
             "offyai": {"ttft_s": seconds["offyai"], "ratio": seconds["offyai"] / seconds["raw"]}}
    rows = report.table({"ttft": {"sizes": {"256": entry}, "target_ratio": 0.65}})
    assert any("TTFT cold, 256-token prompt / raw 1 thread" in line for line in rows)
