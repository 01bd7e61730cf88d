"""Test machines and model shapes shared by the hardware tests: fixed CPU, RAM and GPU
figures, and Llama 3 8B's published layer layout."""

from __future__ import annotations

from offyai_tui.hw.hardware import GPU, Hardware, ModelShape

KiB, MiB, GiB = 1024, 1024**2, 1024**3

LLAMA3_8B = ModelShape(
    n_layers=32, n_kv_heads=8, key_length=128, value_length=128,
    weights_bytes=4_900_000_000, context_length=131072, n_heads=32,
)  # fmt: skip


def machine(
    ram: int, *, gpu: str = "", vram_mib: int = 0, cores: int = 8, available: int | None = None
) -> Hardware:
    gpus = (GPU(gpu, vram_mib * MiB, vram_mib * MiB),) if gpu else ()
    return Hardware(
        cpu_model="Test CPU",
        physical_cores=cores,
        logical_cores=cores * 2,
        ram_total_bytes=ram,
        ram_available_bytes=ram if available is None else available,
        gpus=gpus,
        system="Linux",
        machine="x86_64",
    )


LAPTOP_8GB = machine(8 * GiB, cores=4)
DESKTOP_16GB_8GB_VRAM = machine(16 * GiB, gpu="NVIDIA GeForce RTX 4060", vram_mib=8188)
WORKSTATION_64GB_24GB_VRAM = machine(64 * GiB, gpu="NVIDIA GeForce RTX 4090", vram_mib=24564)
