"""The parent's account of one embedded answer: the worker's numbers as ``ChatStats``.

Split from :mod:`offyai_tui.engines.llamacpp` (which keeps the request's flow).
"""

from __future__ import annotations

import time
from typing import Any

from offyai_tui.engines.base import ChatStats

CONTEXT_FULL_NOTE = "stopped: the context window is full (raise num_ctx for longer answers)"
"""An answer that reaches the window ends there (done reason ``length``). Ollama
would shift the context (drop older tokens and go on); for a chat that shows the
whole answer, an honest end beats a continuation that has forgotten the question."""


def answer_stats(
    model: str, stats: dict[str, Any], started: float, first_at: float, event: str
) -> ChatStats:
    """Decode speed from the worker's token times (the first token's wait is TTFT, not
    decoding); a ``length`` finish at the context window gets :data:`CONTEXT_FULL_NOTE`."""
    total = time.perf_counter() - started
    sampled = int(stats.get("sampled") or 0)
    completion = int(stats.get("completion_tokens") or 0)
    decode_s = float(stats.get("decode_s") or 0.0)
    if sampled > 1 and decode_s > 0:
        rate = (sampled - 1) / decode_s
    else:
        rate = completion / total if total > 0 else 0.0
    ttft = (first_at - started) if first_at else float(stats.get("first_token_s") or 0.0)
    reason = "cancelled" if event == "cancelled" else str(stats.get("finish") or "stop")
    note = ""
    if reason == "length" and stats.get("limit") == "context":
        note = CONTEXT_FULL_NOTE
    return ChatStats(
        model=model,
        prompt_tokens=int(stats.get("prompt_tokens") or 0),
        completion_tokens=completion,
        ttft_s=ttft,
        total_s=total,
        tokens_per_s=rate,
        done_reason=reason if reason in {"stop", "length", "cancelled"} else "stop",
        note=note,
    )
