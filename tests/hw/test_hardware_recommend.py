"""Model recommendations per tier (small, medium, large, embedding): which catalog model
is picked for a machine, and why the others are not."""

from __future__ import annotations

from offyai_tui.hw import catalog
from offyai_tui.hw.hardware import Hardware, SpeedLog, recommend, usable_ram
from offyai_tui.hw.speedlog import SpeedRun
from tests.hw.hw_helpers import (
    DESKTOP_16GB_8GB_VRAM,
    LAPTOP_8GB,
    WORKSTATION_64GB_24GB_VRAM,
    GiB,
    machine,
)

# --- recommendations -------------------------------------------------------------


def by_tier(hw: Hardware, **kwargs) -> dict:
    return {rec.tier: rec for rec in recommend(hw, **kwargs)}


def test_recommendations_for_an_8gb_laptop_without_gpu() -> None:
    recs = by_tier(LAPTOP_8GB)
    assert list(recs) == ["small", "medium", "large", "embedding"]
    for rec in recs.values():
        if rec.pick:
            assert rec.pick.assessment.fit.kind == "ram"
            assert rec.pick.assessment.fit.need.total <= usable_ram(LAPTOP_8GB)
    assert recs["small"].pick is not None
    assert recs["small"].pick.assessment.expected_tps >= 5
    assert recs["large"].pick is None
    assert recs["large"].summary().startswith("large: none fits; the smallest, ")
    assert all(c.reason.startswith("does not fit: needs") for c in recs["large"].others)
    assert recs["embedding"].pick.entry.name == "nomic-embed-text"
    assert recs["embedding"].pick.assessment.speed is None


def test_recommendations_for_16gb_ram_and_8gb_vram() -> None:
    recs = by_tier(DESKTOP_16GB_8GB_VRAM)
    assert recs["small"].pick.assessment.fit.kind == "vram"
    assert recs["medium"].pick.entry is catalog.by_tier("medium")[0]
    assert recs["medium"].pick.assessment.fit.kind == "vram"
    large = recs["large"].pick
    assert large.assessment.fit.kind == "partial"
    assert large.assessment.expected_tps >= 5
    reasons = {c.entry.name: c.reason for c in recs["large"].others}
    assert reasons["llama3.1:70b"].startswith("does not fit")


def test_recommendations_for_64gb_ram_and_24gb_vram() -> None:
    recs = by_tier(WORKSTATION_64GB_24GB_VRAM)
    for tier in ("small", "medium", "large"):
        assert recs[tier].pick.entry is catalog.by_tier(tier)[0]
        assert recs[tier].pick.assessment.fit.kind == "vram"
    others = {c.entry.name: c.reason for c in recs["large"].others}
    assert others["llama3.1:70b"].startswith("fits (GPU 42/80) but too slow for chat: about ")
    assert others["qwen3:14b"].startswith("fits too (GPU, about ")
    assert others["qwen3:14b"].endswith(f"; {catalog.by_tier('large')[0].name} is preferred")


TOY_CATALOG = """
[[model]]
name = "best:8b"
family = "toy"
params = 8.0
size_mb = 9000
capabilities = ["chat"]
layers = 32
heads = 32
kv_heads = 8
head_dim = 128
context = 8192
description = "Too big for the test machine."

[[model]]
name = "good:7b"
family = "toy"
params = 7.0
size_mb = 4000
capabilities = ["chat"]
layers = 32
heads = 32
kv_heads = 8
head_dim = 128
context = 8192
description = "Fits."

[[model]]
name = "code:7b"
family = "toy"
params = 7.0
size_mb = 3000
capabilities = ["chat", "code"]
layers = 32
heads = 32
kv_heads = 8
head_dim = 128
context = 8192
description = "Fits, smaller."
"""


def test_pick_is_the_preferred_model_that_fits_and_runs_fast_enough() -> None:
    entries = catalog.parse_catalog(TOY_CATALOG)
    medium = by_tier(machine(12 * GiB), entries=entries)["medium"]
    assert medium.pick.entry.name == "good:7b"
    assert medium.pick.reason.startswith("runs on CPU: needs ")
    assert f"; about {medium.pick.assessment.speed.label()}" in medium.pick.reason
    best, code = medium.others
    assert best.reason.startswith("does not fit: needs 10.1 GB")
    label = code.assessment.speed.label()
    assert code.reason == f"fits too (CPU, about {label}); good:7b is preferred"
    assert by_tier(machine(12 * GiB), entries=entries)["small"].summary() == (
        "small: no catalog entries"
    )


def test_measured_slowness_moves_the_pick() -> None:
    entries = catalog.parse_catalog(TOY_CATALOG)
    log = SpeedLog()
    log.record(SpeedRun("good:7b", 2.0, completion_tokens=64))
    medium = by_tier(machine(12 * GiB), entries=entries, log=log)["medium"]
    assert medium.pick.entry.name == "code:7b"
    good = next(c for c in medium.others if c.entry.name == "good:7b")
    assert good.reason.startswith("fits (CPU) but too slow for chat: about ")
    assert good.reason.endswith("measured 2.0")


def test_runs_logged_under_an_alias_count_for_the_catalog_entry() -> None:
    log = SpeedLog()
    log.record(SpeedRun("mistral:latest", 42.0, engine="ollama", completion_tokens=64))
    medium = by_tier(machine(16 * GiB), log=log)["medium"]
    mistral = next(c for c in (medium.pick, *medium.others) if c and c.entry.name == "mistral")
    assert mistral.assessment.speed.measured.median_tps == 42.0


def test_on_a_slow_machine_the_best_of_the_least_slow_is_picked() -> None:
    entries = catalog.parse_catalog(TOY_CATALOG)
    slow = machine(12 * GiB, cores=1)
    medium = by_tier(slow, entries=entries)["medium"]
    # 1 core: good:7b ~1.5–3 tok/s, code:7b ~2–4; good:7b is within 70 % of the fastest.
    assert medium.pick.entry.name == "good:7b"
    assert medium.pick.reason.startswith("fits, but slow on this machine: runs on CPU")
