"""What a GGUF file holds, read from its header without loading the model.

Listing models must stay fast and must never crash on a bad file, so this module
parses the header itself (``gguf.GGUFReader`` decodes every vocabulary entry and
takes seconds on a 262k-token vocabulary). Arrays are skipped, not decoded; only
their length is kept. A file that is not GGUF, or is cut short (a partial
download), raises :class:`BadModelFile` with one readable line.

The fields the memory-fit estimate needs (layers, heads, key/value lengths,
context length) are surfaced as attributes of :class:`GGUFInfo`.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offyai_tui.engines.errors import BadModelFile
from offyai_tui.engines.thinking import CAPABILITY, template_thinks

MAGIC = b"GGUF"
_DEFAULT_ALIGNMENT = 32
_MAX_DIMS = 8
_KEEP_ARRAY = 64
"""Arrays up to this length are kept in ``metadata``; longer ones only by length."""

# GGUF metadata value types: id -> struct format of one element (strings and
# arrays are variable-length and handled apart).
_STRING, _ARRAY = 8, 9
_SCALARS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}

# ggml tensor types: id -> (elements per block, bytes per block). Used to find
# where the tensor data must end, which is how a truncated file is recognised.
GGML_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 40),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
    40: (64, 36),  # NVFP4
    41: (128, 18),  # Q1_0
}

# ``general.file_type`` (llama.cpp's LLAMA_FTYPE): what users call the quantization.
FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
    40: "Q1_0",
}

EMBEDDING_ARCHITECTURES = frozenset(
    {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "neo-bert", "modern-bert", "t5encoder"}
)
"""Encoder-only architectures: they produce embeddings and cannot chat."""


@dataclass(frozen=True)
class GGUFInfo:
    """The header of one GGUF file.

    Integer fields are 0 when the file does not say; ``metadata`` holds every
    scalar key, and arrays longer than a few dozen items as ``("<array>", length)``.
    """

    path: Path
    size_bytes: int
    version: int
    architecture: str
    name: str
    parameter_count: int
    size_label: str
    file_type: int | None
    quantization: str
    context_length: int
    block_count: int
    head_count: int
    head_count_kv: int
    key_length: int
    value_length: int
    embedding_length: int
    feed_forward_length: int
    sliding_window: int
    vocab_size: int
    tokenizer_model: str
    chat_template: str | None
    pooling_type: int | None
    causal: bool
    tensor_count: int
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_embedding(self) -> bool:
        """True for encoder/pooling models, which give embeddings rather than chat."""
        return (
            self.architecture in EMBEDDING_ARCHITECTURES
            or (self.pooling_type is not None and self.pooling_type > 0)
            or not self.causal
        )

    @property
    def capabilities(self) -> tuple[str, ...]:
        """``chat`` or ``embedding``; ``thinking`` too when the chat template is written
        for a reasoning model (it opens ``<think>`` or reads ``enable_thinking``)."""
        if self.is_embedding:
            return ("embedding",)
        return ("chat", CAPABILITY) if template_thinks(self.chat_template) else ("chat",)

    @property
    def parameter_size(self) -> str:
        """A short label such as ``135M`` or ``7.2B``."""
        return self.size_label or format_count(self.parameter_count)

    def kv_cache_bytes(self, n_ctx: int, bytes_per_value: int = 2) -> int:
        """Upper bound of the KV cache for ``n_ctx`` tokens (f16 by default).

        Sliding-window layers (Gemma 3) need less; this counts every layer at
        full width, which is the safe side for a fit estimate.
        """
        per_token = self.block_count * self.head_count_kv * (self.key_length + self.value_length)
        return n_ctx * per_token * bytes_per_value


def format_count(count: int) -> str:
    """``134515008`` -> ``"135M"``; ``7241732096`` -> ``"7.2B"``."""
    if count <= 0:
        return ""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if count >= scale:
            value = count / scale
            return f"{value:.1f}{suffix}" if value < 10 else f"{value:.0f}{suffix}"
    return str(count)


def quantization_name(file_type: int | None) -> str:
    if file_type is None:
        return ""
    return FILE_TYPES.get(file_type, f"type {file_type}")


_cache: dict[str, tuple[tuple[int, int], GGUFInfo]] = {}
_cache_lock = threading.Lock()


def read_gguf_info(path: str | os.PathLike[str]) -> GGUFInfo:
    """Read the header of ``path``; cached while the file's size and mtime hold.

    Raises:
        BadModelFile: the file is missing, not GGUF, an unsupported version, or
            truncated or corrupt.
    """
    file = Path(path)
    try:
        stat = file.stat()
    except OSError as exc:
        raise BadModelFile(f"{file}: cannot be read ({exc.strerror or exc})") from None
    key = str(file.resolve())
    stamp = (stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    info = _parse(file, stat.st_size)
    with _cache_lock:
        _cache[key] = (stamp, info)
    return info


def is_gguf(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` starts with the GGUF magic (does not validate the rest)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == MAGIC
    except OSError:
        return False


class _Truncated(Exception):
    pass


class _Reader:
    """Sequential little-endian reads over a memory map, with bounds checks."""

    def __init__(self, data: mmap.mmap | bytes) -> None:
        self.data = data
        self.pos = 0
        self.end = len(data)

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.pos + size > self.end:
            raise _Truncated
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        length = self.unpack("<Q")
        if self.pos + length > self.end:
            raise _Truncated
        raw = bytes(self.data[self.pos : self.pos + length])
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        data, pos, end, unpack_from = self.data, self.pos, self.end, struct.unpack_from
        for _ in range(count):
            if pos + 8 > end:
                raise _Truncated
            pos += 8 + unpack_from("<Q", data, pos)[0]
        if pos > end:
            raise _Truncated
        self.pos = pos

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            return self.array()
        raise ValueError(f"unknown metadata value type {kind}")

    def array(self) -> Any:
        kind = self.unpack("<I")
        count = self.unpack("<Q")
        if count <= _KEEP_ARRAY:
            return [self.value(kind) for _ in range(count)]
        if kind in _SCALARS:
            size = struct.calcsize(_SCALARS[kind]) * count
            if self.pos + size > self.end:
                raise _Truncated
            self.pos += size
        elif kind == _STRING:
            self.skip_strings(count)
        elif kind == _ARRAY:
            for _ in range(count):
                self.array()
        else:
            raise ValueError(f"unknown array element type {kind}")
        return ("<array>", count)


def _parse(file: Path, size: int) -> GGUFInfo:
    if size == 0:
        raise BadModelFile(f"{file.name} is empty, not a GGUF model")
    try:
        with open(file, "rb") as handle:
            head = handle.read(4)
            if head != MAGIC:
                raise BadModelFile(
                    f"{file.name} is not a GGUF model (it starts with {head!r}, not b'GGUF')"
                )
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _parse_header(file, size, data)
    except OSError as exc:
        raise BadModelFile(f"{file}: cannot be read ({exc.strerror or exc})") from None


def _parse_header(file: Path, size: int, data: mmap.mmap) -> GGUFInfo:
    reader = _Reader(data)
    reader.pos = 4
    try:
        version = reader.unpack("<I")
        if version not in (2, 3):
            raise BadModelFile(
                f"{file.name}: GGUF version {version} is not supported (expected 2 or 3)"
            )
        tensor_count = reader.unpack("<Q")
        kv_count = reader.unpack("<Q")
        if tensor_count > 1_000_000 or kv_count > 1_000_000:
            raise BadModelFile(f"{file.name}: corrupt GGUF header (implausible counts)")
        meta: dict[str, Any] = {}
        for _ in range(kv_count):
            key = reader.string()
            kind = reader.unpack("<I")
            meta[key] = reader.value(kind)
        params = 0
        data_end = 0
        for _ in range(tensor_count):
            reader.string()
            n_dims = reader.unpack("<I")
            if n_dims > _MAX_DIMS:
                raise BadModelFile(f"{file.name}: corrupt tensor table ({n_dims} dimensions)")
            elements = 1
            for _ in range(n_dims):
                elements *= reader.unpack("<Q")
            ggml_type = reader.unpack("<I")
            offset = reader.unpack("<Q")
            params += elements
            block = GGML_TYPE_SIZES.get(ggml_type)
            if block is not None:
                data_end = max(data_end, offset + elements // block[0] * block[1])
    except _Truncated:
        raise BadModelFile(
            f"{file.name} is truncated: its header runs past the end of the file "
            f"({size} bytes); download or copy it again"
        ) from None
    except ValueError as exc:
        raise BadModelFile(f"{file.name}: corrupt GGUF header ({exc})") from None
    alignment = _int(meta.get("general.alignment")) or _DEFAULT_ALIGNMENT
    data_start = -(-reader.pos // alignment) * alignment
    if data_start + data_end > size:
        raise BadModelFile(
            f"{file.name} is truncated: it has {size} bytes but its tensors need "
            f"{data_start + data_end}; download or copy it again"
        )
    return _build(file, size, version, tensor_count, params, meta)


def _int(value: Any) -> int:
    if isinstance(value, list):  # per-layer values (some models vary heads by layer)
        value = max((v for v in value if isinstance(v, (int, float))), default=0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return int(value)


def _build(
    file: Path, size: int, version: int, tensor_count: int, params: int, meta: dict[str, Any]
) -> GGUFInfo:
    arch = str(meta.get("general.architecture", "") or "")

    def arch_int(key: str) -> int:
        return _int(meta.get(f"{arch}.{key}"))

    file_type = meta.get("general.file_type")
    file_type = file_type if isinstance(file_type, int) else None
    head_count = arch_int("attention.head_count")
    embedding = arch_int("embedding_length")
    head_dim = embedding // head_count if head_count else 0
    tokens = meta.get("tokenizer.ggml.tokens")
    if isinstance(tokens, tuple):
        vocab = tokens[1]
    elif isinstance(tokens, list):
        vocab = len(tokens)
    else:
        vocab = arch_int("vocab_size")
    template = meta.get("tokenizer.chat_template")
    pooling = meta.get(f"{arch}.pooling_type")
    causal = meta.get(f"{arch}.attention.causal")
    return GGUFInfo(
        path=file,
        size_bytes=size,
        version=version,
        architecture=arch,
        name=str(meta.get("general.name", "") or ""),
        parameter_count=params,
        size_label=str(meta.get("general.size_label", "") or ""),
        file_type=file_type,
        quantization=quantization_name(file_type),
        context_length=arch_int("context_length"),
        block_count=arch_int("block_count"),
        head_count=head_count,
        head_count_kv=arch_int("attention.head_count_kv") or head_count,
        key_length=arch_int("attention.key_length") or head_dim,
        value_length=arch_int("attention.value_length") or head_dim,
        embedding_length=embedding,
        feed_forward_length=arch_int("feed_forward_length"),
        sliding_window=arch_int("attention.sliding_window"),
        vocab_size=vocab,
        tokenizer_model=str(meta.get("tokenizer.ggml.model", "") or ""),
        chat_template=template if isinstance(template, str) and template.strip() else None,
        pooling_type=pooling if isinstance(pooling, int) else None,
        causal=causal if isinstance(causal, bool) else True,
        tensor_count=tensor_count,
        metadata=meta,
    )
