"""``offyai doctor``'s memory lines: what the embedded engine's KV cache costs, and could.

The KV cache grows with the context; at 4,096 tokens it is about as large as
SmolLM2's weights. ``llamacpp.kv_cache_type`` trades a little quality for memory
(q8_0 about half of f16, q4_0 about a quarter), and a quantized V cache needs
flash attention, so ``llamacpp.flash_attention = "auto"`` turns it on then.
"""

from __future__ import annotations

from offyai_tui.settings.config import Settings


def kv_lines(settings: Settings) -> list[str]:
    """One line on the KV cache of the embedded engine's chat model (none if unreadable)."""
    from offyai_tui.engines import bundled
    from offyai_tui.engines.gguf_info import read_gguf_info
    from offyai_tui.engines.llamacpp_catalog import find_model, scan_models
    from offyai_tui.engines.llamacpp_setup import flash_wanted
    from offyai_tui.hw.fit import ModelShape, ShapeError, format_bytes, kv_cache_sizes

    config = settings.llamacpp
    name = config.model or bundled.SMOLLM2
    try:
        entry = find_model(name, scan_models())
        if entry is None:
            return [f"KV cache: {name} is not in the embedded engine's models"]
        info = entry.info or read_gguf_info(entry.path)
        shape = ModelShape.from_gguf_info(info)
        sizes = kv_cache_sizes(shape, config.n_ctx)
    except (OSError, ValueError, ShapeError) as exc:
        return [f"KV cache: {name} cannot be read ({exc})"]
    chosen = config.kv_cache_type
    others = ", ".join(f"{kv} {format_bytes(n)}" for kv, n in sizes.items() if kv != chosen)
    window = min(config.n_ctx, shape.context_length or config.n_ctx)
    flash = "on" if flash_wanted(chosen, config.flash_attention) else "off"
    return [
        f"KV cache {chosen} at {window:,} tokens for {entry.name}: "
        f"{format_bytes(sizes[chosen])} (would be: {others}; llamacpp.kv_cache_type)",
        f"flash attention {flash} (llamacpp.flash_attention = {config.flash_attention}: "
        "on where a quantized cache needs it)" if config.flash_attention == "auto"
        else f"flash attention {flash} (llamacpp.flash_attention)",
    ]
