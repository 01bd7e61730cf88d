"""What the speed model knows about accelerators: memory bandwidth and compute, by name.

Decode speed is bound by how fast the weights stream from memory, so the one number that
matters most is the spec memory bandwidth (GB/s). Apple GPUs also need their FP32
throughput: there, dequantizing K-quant weights costs enough arithmetic that a chip with
few GPU cores is compute-bound before it is bandwidth-bound (an 8 GB M1 decodes an 8B
Q4_K_M model at about 10 tok/s although its 68 GB/s would allow 14).

Figures are the vendors' published specs. A GPU not listed gets a vendor default, and the
estimate says so (``basis``). Names are matched as whole words, longest key first, so
"RTX 4070 Ti SUPER" never reads as "RTX 4070".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NVIDIA_GBPS = {
    "RTX 5090": 1792, "RTX 5080": 960, "RTX 5070 TI": 896, "RTX 5070": 672, "RTX 5060 TI": 448,
    "RTX 5060": 448, "RTX 4090": 1008, "RTX 4080 SUPER": 736, "RTX 4080": 717,
    "RTX 4070 TI SUPER": 672, "RTX 4070 TI": 504, "RTX 4070 SUPER": 504, "RTX 4070": 504,
    "RTX 4060 TI": 288, "RTX 4060": 272, "RTX 3090 TI": 1008, "RTX 3090": 936,
    "RTX 3080 TI": 912, "RTX 3080": 760, "RTX 3070 TI": 608, "RTX 3070": 448,
    "RTX 3060 TI": 448, "RTX 3060": 360, "RTX 3050": 224, "RTX 2080 TI": 616,
    "RTX 2080 SUPER": 496, "RTX 2080": 448, "RTX 2070 SUPER": 448, "RTX 2070": 448,
    "RTX 2060 SUPER": 448, "RTX 2060": 336, "GTX 1660 TI": 288, "GTX 1660 SUPER": 336,
    "GTX 1660": 192, "GTX 1650": 128, "GTX 1080 TI": 484, "GTX 1080": 320, "GTX 1070": 256,
    "GTX 1060": 192, "RTX 4090 LAPTOP": 576, "RTX 4080 LAPTOP": 432, "RTX 4070 LAPTOP": 256,
    "RTX 4060 LAPTOP": 256, "RTX 4050 LAPTOP": 192, "RTX 3080 LAPTOP": 448,
    "RTX 3070 LAPTOP": 448, "RTX 3060 LAPTOP": 336, "TITAN RTX": 672, "RTX A6000": 768,
    "RTX A5000": 768, "RTX A4500": 640, "RTX A4000": 448, "RTX 6000 ADA": 960,
    "RTX 5000 ADA": 576, "RTX 4000 ADA": 360, "RTX PRO 6000": 1792, "A100": 1555,
    "A100 80GB": 1935, "A100 SXM4 80GB": 2039, "A100 80GB PCIE": 1935, "H100 PCIE": 2000,
    "H100": 3350, "H100 NVL": 3900, "H200": 4800, "GH200": 4000, "B200": 8000, "L40S": 864,
    "L40": 864, "L4": 300, "A40": 696, "A10": 600, "A10G": 600, "T4": 320, "V100": 900,
    "P100": 732,
}  # fmt: skip
"""Spec memory bandwidth, GB/s. ``H100`` alone is the SXM part; its PCIe card is listed."""

AMD_GBPS = {
    "RX 9070 XT": 640, "RX 9070": 640, "RX 9060 XT": 320, "RX 7900 XTX": 960,
    "RX 7900 XT": 800, "RX 7900 GRE": 576, "RX 7800 XT": 624, "RX 7700 XT": 432,
    "RX 7600 XT": 288, "RX 7600": 288, "RX 6950 XT": 576, "RX 6900 XT": 512,
    "RX 6800 XT": 512, "RX 6800": 512, "RX 6750 XT": 432, "RX 6700 XT": 384,
    "RX 6650 XT": 280, "RX 6600 XT": 256, "RX 6600": 224, "RADEON VII": 1024,
    "PRO W7900": 864, "PRO W7800": 576, "PRO W6800": 512, "MI50": 1024, "MI60": 1024,
    "MI100": 1229, "MI210": 1638, "MI250X": 3277, "MI250": 3277, "MI300X": 5300,
    "MI325X": 6000, "NAVI 31": 960, "NAVI 21": 512, "8060S": 256,
}  # fmt: skip
"""Spec memory bandwidth, GB/s (``NAVI 31``/``NAVI 21``: rocm-smi's series names)."""

INTEL_GBPS = {
    "ARC A770": 560, "ARC A750": 512, "ARC A580": 512, "ARC A380": 186, "ARC B580": 456,
    "ARC B570": 380,
}  # fmt: skip

APPLE_GBPS = {
    "M1": 68, "M1 PRO": 200, "M1 MAX": 400, "M1 ULTRA": 800, "M2": 100, "M2 PRO": 200,
    "M2 MAX": 400, "M2 ULTRA": 800, "M3": 100, "M3 PRO": 150, "M3 MAX": 400, "M3 ULTRA": 819,
    "M4": 120, "M4 PRO": 273, "M4 MAX": 546, "M5": 153,
}  # fmt: skip

APPLE_TFLOPS = {
    "M1": 2.6, "M1 PRO": 5.2, "M1 MAX": 10.4, "M1 ULTRA": 21.0, "M2": 3.6, "M2 PRO": 6.8,
    "M2 MAX": 13.6, "M2 ULTRA": 27.2, "M3": 4.1, "M3 PRO": 7.4, "M3 MAX": 16.4,
    "M3 ULTRA": 28.4, "M4": 4.3, "M4 PRO": 9.2, "M4 MAX": 18.4, "M5": 5.7,
}  # fmt: skip
"""GPU FP32 TFLOPS of the largest GPU configuration of each chip."""

GPU_TFLOPS = {
    "RTX 5090": 209, "RTX 5080": 113, "RTX 4090": 165, "RTX 4080": 97, "RTX 4070 TI": 80,
    "RTX 4070": 58, "RTX 4060 TI": 44, "RTX 4060": 30, "RTX 3090": 71, "RTX 3080": 60,
    "RTX 3070": 41, "RTX 3060": 25, "RTX 2080 TI": 54, "A100": 312, "H100": 756, "H200": 989,
    "L40S": 362, "L4": 121, "T4": 65, "RX 7900 XTX": 123, "RX 7900 XT": 103,
}  # fmt: skip
"""Dense FP16 tensor TFLOPS, for prompt processing (compute-bound)."""

DEFAULT_GBPS = {"nvidia": 250, "amd": 256, "intel": 186, "apple": 100}
"""Assumed when a GPU is not listed: a mid-range part of its vendor."""


def lookup(name: str, table: dict[str, int] | dict[str, float]) -> float | None:
    """The value of the longest table key found in ``name`` as whole words."""
    upper = name.upper().replace("-", " ")
    best = None
    for key in table:
        if re.search(rf"(?<![A-Z0-9]){re.escape(key)}(?![A-Z0-9])", upper) and (
            best is None or len(key) > len(best)
        ):
            best = key
    return float(table[best]) if best else None


def vendor_of(name: str) -> str:
    """``nvidia``, ``amd``, ``intel`` or ``apple`` from a device name (what ``--gpu`` gives)."""
    upper = name.upper()
    if upper.startswith("APPLE") or re.fullmatch(r"M\d( (PRO|MAX|ULTRA))?", upper.strip()):
        return "apple"
    if any(word in upper for word in ("RADEON", "AMD", "INSTINCT", " RX ", "NAVI")) or (
        lookup(name, AMD_GBPS) and not lookup(name, NVIDIA_GBPS)
    ):
        return "amd"
    if "INTEL" in upper or " ARC " in f" {upper} ":
        return "intel"
    return "nvidia"


@dataclass(frozen=True)
class Spec:
    """One accelerator's numbers; ``listed`` is False when the vendor default was used."""

    gbps: float
    tflops: float
    listed: bool
    vendor: str


def spec_of(name: str, vendor: str = "") -> Spec:
    vendor = vendor or vendor_of(name)
    table = {"amd": AMD_GBPS, "intel": INTEL_GBPS, "apple": APPLE_GBPS}.get(vendor, NVIDIA_GBPS)
    gbps = lookup(name, table)
    if vendor == "apple":
        tflops = lookup(name, APPLE_TFLOPS) or 3.0
    else:
        tflops = lookup(name, GPU_TFLOPS) or (gbps or DEFAULT_GBPS[vendor]) * 0.1
    return Spec(gbps or DEFAULT_GBPS.get(vendor, 250), tflops, gbps is not None, vendor)
