"""Structural check of a whisper.cpp ggml model file, without loading it.

The file: magic, eleven int32 hyper-parameters, the mel filter bank (two int32 sizes
and the floats), the vocabulary (a count, then length-prefixed tokens), then tensors
until the end (dims count, name length, type, the dims, the name, the data). The data
size of each type is known for the float and the legacy quantized types whisper.cpp
writes; a file using another type is accepted once its header checks out.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import BinaryIO

_MAGIC = b"lmgg"
# ggml type -> (bytes per block, values per block)
_TYPE_SIZES = {
    0: (4, 1), 1: (2, 1),  # f32, f16
    2: (18, 32), 3: (20, 32), 6: (22, 32), 7: (24, 32), 8: (34, 32),  # q4_0 q4_1 q5_0 q5_1 q8_0
}  # fmt: skip


def problem(path: Path) -> str:
    """What is wrong with the model file at ``path``, or '' when it is whole."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        try:
            return _walk(handle, size)
        except (EOFError, struct.error):
            return "the file is truncated"


def _walk(handle: BinaryIO, size: int) -> str:
    def ints(count: int) -> tuple[int, ...]:
        raw = handle.read(4 * count)
        if len(raw) != 4 * count:
            raise EOFError
        return struct.unpack(f"<{count}i", raw)

    if handle.read(4) != _MAGIC:
        return "no ggml magic"
    hparams = ints(11)
    if header := _bad_hparams(hparams):
        return header
    n_mel, n_fft = ints(2)
    if n_mel != hparams[9] or not 0 < n_fft <= 1024:
        return "bad mel filter sizes"
    handle.seek(4 * n_mel * n_fft, 1)
    (tokens,) = ints(1)
    if not 0 < tokens <= hparams[0]:
        return "bad vocabulary size"
    for _ in range(tokens):
        (length,) = ints(1)
        if not 0 <= length <= 256:
            return "bad vocabulary entry"
        handle.seek(length, 1)
    count = 0
    while handle.tell() < size:  # seeking past the end is allowed: checked after
        n_dims, name_length, kind = ints(3)
        if not 1 <= n_dims <= 4 or not 0 < name_length <= 256:
            return f"bad tensor record {count + 1}"
        dims = ints(n_dims)
        handle.seek(name_length, 1)
        if kind not in _TYPE_SIZES:
            return ""  # a newer type: the header and the records so far are sound
        block_bytes, block_values = _TYPE_SIZES[kind]
        handle.seek(math.prod(dims) // block_values * block_bytes, 1)
        count += 1
    if handle.tell() > size:
        return "the file is truncated"
    return "" if count else "no tensors"


def _bad_hparams(hparams: tuple[int, ...]) -> str:
    n_vocab, audio_ctx, audio_state, audio_head, audio_layer = hparams[:5]
    text_ctx, text_state, text_head, text_layer, n_mels, _ftype = hparams[5:]
    if not 50000 <= n_vocab <= 60000 or n_mels not in (80, 128):
        return "bad vocabulary or mel sizes in the header"
    for state, heads, layers, ctx in (
        (audio_state, audio_head, audio_layer, audio_ctx),
        (text_state, text_head, text_layer, text_ctx),
    ):
        if heads <= 0 or state <= 0 or state % heads or not 0 < layers <= 64 or ctx <= 0:
            return "bad layer sizes in the header"
    return ""
