"""Rows of the Models table: one capability vocabulary, counts, order and filter words."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    Engine,
    ErrorEvent,
    Health,
    Message,
    ModelInfo,
)
from offyai_tui.engines.errors import EngineError, EngineUnavailable
from offyai_tui.hw.hardware import Hardware
from offyai_tui.manage.rows import (
    capabilities_of,
    collect,
    matches,
    parameter_count,
    sort_rows,
)

HW = Hardware("CPU", 4, 8, 16 * 1024**3, 12 * 1024**3, system="Linux")


class Listing(Engine):
    kind = "listing"

    def __init__(self, models: Sequence[ModelInfo], fail: bool = False) -> None:
        self.models, self.fail = list(models), fail

    async def health(self) -> Health:
        return Health(not self.fail, self.kind)

    async def list_models(self) -> list[ModelInfo]:
        if self.fail:
            raise EngineUnavailable("nobody home")
        return self.models

    async def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        yield ErrorEvent(EngineError("no chat"))


def test_capabilities_and_parameter_counts() -> None:
    info = ModelInfo("m", "x", capabilities=("vision", "embed", "completion"))
    assert capabilities_of(info) == ("chat", "embedding", "vision")
    assert [parameter_count(p) for p in ("135M", "7.2B", "1.5b", "", "big")] == [
        135e6,
        7.2e9,
        1.5e9,
        0.0,
        0.0,
    ]


async def test_catalog_shapes_fit_unknown_models_and_unreachable_engines() -> None:
    listing = Listing(
        [
            ModelInfo("qwen3:14b", "listing", 9_300_000_000, "qwen3", "14.8B"),
            ModelInfo("llama3.2:3b", "listing", 2_000_000_000, "llama", "3.2B"),
            ModelInfo("mystery", "listing", 5_000_000_000, "", "7B"),
            ModelInfo("nomic-embed-text", "listing", 274_000_000, capabilities=("embed",)),
        ]
    )
    down = Listing([], fail=True)
    inventory = await collect([listing, down], HW)
    assert inventory.reached(listing) and not inventory.reached(down)
    assert inventory.notes == ["listing at local: nobody home"]
    fits = {row.info.name: row.assessment.fit.label for row in inventory.rows}
    assert fits == {
        "qwen3:14b": "CPU",
        "llama3.2:3b": "CPU",
        "mystery": "?",
        "nomic-embed-text": "CPU",
    }
    by_name = {row.info.name: row for row in inventory.rows}
    assert "the engine does not describe the model" in by_name["mystery"].assessment.fit.explanation
    assert by_name["nomic-embed-text"].assessment.speed is None

    rows = inventory.rows
    assert [r.info.name for r in sort_rows(rows, "params")] == [
        "nomic-embed-text",
        "llama3.2:3b",
        "mystery",
        "qwen3:14b",
    ]
    fastest = sort_rows(rows, "speed")[0]
    assert fastest.info.name == "llama3.2:3b"
    assert [r.info.name for r in rows if matches(r, "CPU qwen")] == ["qwen3:14b"]
    assert [r.info.name for r in rows if matches(r, "EMBEDDING")] == ["nomic-embed-text"]
