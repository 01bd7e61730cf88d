"""What this machine can run: hardware detection, memory fit, speed and recommendations.

Headless (no Textual): the Models screen, ``offyai models`` and ``offyai doctor`` all
read from here. The implementation lives in :mod:`offyai_tui.hw`; import from this
module. The API a UI needs:

Detection (cached per process; the first call may take up to ~2 s per hanging tool, so
call it from a worker)::

    hw = detect()                       # Hardware; detect(refresh=True) probes again
                                        # (refresh when the screen opens: free RAM moves)
    hw.describe()                       # "AMD Ryzen 7 · 8 cores / 16 threads · 31.2 GiB RAM ..."
    describe(hw)                        # ["CPU ...", "RAM ...", "GPU ..."] for offyai doctor
    hw.gpus, hw.notes                   # tuple[GPU]; why a probe found nothing

Shape of a model, from whichever metadata is at hand (``ShapeError`` = one-line reason)::

    ModelShape.from_ollama_show(show["model_info"], size_bytes)
    ModelShape.from_gguf_info(info)     # duck-typed GGUF header result
    catalog.lookup("mistral:latest").shape()

One table row (fit verdict + speed range + measured runs)::

    a = assess(shape, hw, model=name, engine="ollama", n_ctx=4096, log=SpeedLog())
    a.fit.label          # "GPU" | "GPU 20/32" | "CPU" | "too big" | "?"
    a.fit.explanation    # "fits in GPU memory: needs 5.9 GB of 7.8 GB usable (...)"
    a.fit.need           # MemoryNeed(weights_bytes, kv_bytes, overhead_bytes, n_ctx).total
    a.speed.label()      # "13–20 tok/s · measured 16"   (a.speed is None if it cannot run)
    a.speed.sparkline    # "▅▆▆▇▅" of recent measured runs, "" if none

Recommendations for the detected machine (small, medium, large, embedding)::

    for rec in recommend(hw, log=SpeedLog()):
        rec.summary()                   # "medium: qwen3:8b: fits in GPU memory ..."
        rec.pick, rec.others            # Candidate(entry, assessment, reason)

Recording a finished answer (the chat screen and ``offyai ask`` do, on ``Done``; the
placement and size come from the engine)::

    await offyai_tui.manage.speed_record.record_answer(engine, stats)

What an engine can use and where Ollama put a model (:mod:`offyai_tui.hw.runtime`),
and the what-if of ``offyai fit`` (:mod:`offyai_tui.hw.whatif`)::

    assess(shape, hw, engine_kind="llamacpp")          # the embedded engine: CPU only
    assess(shape, hw, engine_kind="ollama", loaded=(size, size_vram))   # from /api/ps
    what_if("llama3.1:70b", described_machine(hw, gpus=["NVIDIA GeForce RTX 4090:24"]))
"""

from __future__ import annotations

from offyai_tui.hw.detect import (
    GPU,
    GiB,
    Hardware,
    Probes,
    detect,
    detect_hardware,
    parse_nvidia_smi,
)
from offyai_tui.hw.fit import (
    DEFAULT_N_CTX,
    Fit,
    MemoryNeed,
    ModelShape,
    ShapeError,
    fit_model,
    format_bytes,
    memory_needed,
    usable_ram,
    usable_vram,
)
from offyai_tui.hw.recommend import (
    MIN_USABLE_TPS,
    Assessment,
    Candidate,
    Recommendation,
    assess,
    recommend,
)
from offyai_tui.hw.speed import (
    Bandwidth,
    SpeedEstimate,
    cpu_bandwidth,
    estimate_speed,
    gpu_bandwidth,
)
from offyai_tui.hw.speedlog import Measured, SpeedLog, sparkline


def describe(hw: Hardware | None = None, *, engines: bool = False) -> list[str]:
    """Lines for ``offyai doctor``: CPU, RAM, each GPU, what was detected and what not, why.

    ``engines=True`` adds what the embedded engine can use (it imports llama-cpp-python,
    so only ``doctor`` asks).
    """
    hw = hw or detect()
    lines = [
        f"CPU {hw.cpu_model}, {hw.physical_cores} cores / {hw.logical_cores} threads",
        f"RAM {hw.ram_total_bytes / GiB:.1f} GiB ({hw.ram_available_bytes / GiB:.1f} GiB free;"
        f" {format_bytes(usable_ram(hw))} usable for models)",
    ]
    for gpu in hw.gpus:
        kind = "unified memory usable by the GPU" if gpu.unified else "VRAM"
        free = f" ({gpu.vram_free_bytes / GiB:.1f} GiB free)" if gpu.vram_free_bytes else ""
        lines.append(f"GPU {gpu.name}, {gpu.vram_total_bytes / GiB:.1f} GiB {kind}{free}")
    if not hw.gpus:
        lines.append("GPU none" + (f" ({'; '.join(hw.notes)})" if hw.notes else ""))
    lines += [f"detected by {found}" for found in hw.found]
    if hw.gpus:
        lines += [f"not detected: {note}" for note in hw.notes]
    if engines:
        from offyai_tui.hw.runtime import embedded_gpu_offload

        reach = embedded_gpu_offload()
        lines.append(f"embedded engine {'GPU' if reach.gpu else 'CPU only'}: {reach.why}")
    return lines


__all__ = [
    "DEFAULT_N_CTX",
    "GPU",
    "MIN_USABLE_TPS",
    "Assessment",
    "Bandwidth",
    "Candidate",
    "Fit",
    "Hardware",
    "Measured",
    "MemoryNeed",
    "ModelShape",
    "Probes",
    "Recommendation",
    "ShapeError",
    "SpeedEstimate",
    "SpeedLog",
    "assess",
    "cpu_bandwidth",
    "describe",
    "detect",
    "detect_hardware",
    "estimate_speed",
    "fit_model",
    "format_bytes",
    "gpu_bandwidth",
    "memory_needed",
    "parse_nvidia_smi",
    "recommend",
    "sparkline",
    "usable_ram",
    "usable_vram",
]
