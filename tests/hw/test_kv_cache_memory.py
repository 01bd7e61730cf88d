"""The KV cache type's effect on memory: in ``offyai doctor`` and in the fit estimate."""

from __future__ import annotations

import pytest

from offyai_tui.commands.memory import kv_lines
from offyai_tui.engines import bundled
from offyai_tui.engines.gguf_info import read_gguf_info
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.hw import hardware
from offyai_tui.hw.fit import ModelShape, format_bytes, kv_cache_sizes
from offyai_tui.manage.rows import collect
from offyai_tui.settings.config import Settings


def test_doctor_lines_give_the_chosen_type_and_what_the_others_would_take() -> None:
    shape = ModelShape.from_gguf_info(read_gguf_info(bundled.smollm2_path()))
    sizes = kv_cache_sizes(shape, 4096)
    assert sizes["f16"] > sizes["q8_0"] > sizes["q4_0"] > 0
    assert sizes["f16"] == 30 * 3 * (64 + 64) * 2 * 4096  # SmolLM2: 30 layers, 3 KV heads

    settings = Settings()
    first, flash = kv_lines(settings)
    assert first.startswith(f"KV cache f16 at 4,096 tokens for {bundled.SMOLLM2}: "
                            f"{format_bytes(sizes['f16'])}")
    assert f"q8_0 {format_bytes(sizes['q8_0'])}" in first
    assert flash.startswith("flash attention off")

    settings.llamacpp.kv_cache_type = "q4_0"
    first, flash = kv_lines(settings)
    assert first.startswith(f"KV cache q4_0 at 4,096 tokens for {bundled.SMOLLM2}: "
                            f"{format_bytes(sizes['q4_0'])}")
    assert flash.startswith("flash attention on")  # a quantized V cache needs it


@pytest.mark.parametrize("kv_type", ["q8_0", "q4_0"])
async def test_the_fit_estimate_uses_the_configured_cache_type(kv_type: str) -> None:
    hw = hardware.detect()
    needs = {}
    for kind in ("f16", kv_type):
        settings = Settings()
        settings.llamacpp.kv_cache_type = kind
        engine = LlamaCppEngine(settings)
        inventory = await collect([engine], hw, n_ctx=4096)
        row = next(r for r in inventory.rows if r.info.name == bundled.SMOLLM2)
        assert row.assessment.fit.need is not None
        needs[kind] = row.assessment.fit.need.kv_bytes
    shape = ModelShape.from_gguf_info(read_gguf_info(bundled.smollm2_path()))
    assert needs == {kind: kv_cache_sizes(shape, 4096)[kind] for kind in ("f16", kv_type)}
