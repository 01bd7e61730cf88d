"""Convert a sentence-transformers BERT model (safetensors) to a GGUF llama.cpp runs.

The bundled embedding model ships as safetensors, which llama.cpp cannot load. Only
``gguf`` and numpy are used here: torch or ``safetensors`` would add hundreds of
megabytes of dependencies to read one 90 MB file whose format is a few lines long.
Weights stay float32, so the converted model's embeddings match the original's.
``gguf`` and numpy are imported on first use: the app imports this module to learn
:data:`CONVERTER_VERSION` at startup, and only a conversion needs them.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gguf
    import numpy as np

CONVERTER_VERSION = 1
"""Bumped whenever the output changes, so files written by an older version are rebuilt."""

_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
_UNUSED = ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias")
_SPECIAL = ("unk", "cls", "sep", "pad", "mask")


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Map each tensor in ``path`` to a read-only array backed by the file.

    The format is an 8-byte little-endian header length, a JSON header giving each
    tensor's dtype, shape and byte range, then the raw little-endian data.

    Raises:
        ValueError: the file is truncated, its header is not valid, or a dtype is unknown.
    """
    import numpy as np

    size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise ValueError(f"{path.name}: too short to be a safetensors file")
        (header_len,) = struct.unpack("<Q", prefix)
        if header_len > size - 8:
            raise ValueError(f"{path.name}: header length {header_len} exceeds the file")
        try:
            header = json.loads(handle.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path.name}: header is not JSON ({err})") from None
    data = np.memmap(path, dtype=np.uint8, mode="r")
    base = 8 + header_len
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info.get("dtype"))
        if dtype is None:
            raise ValueError(
                f"{path.name}: tensor {name} has unsupported dtype {info.get('dtype')}"
            )
        start, end = info["data_offsets"]
        if base + end > size:
            raise ValueError(f"{path.name}: tensor {name} runs past the end of the file")
        tensors[name] = data[base + start : base + end].view(dtype).reshape(info["shape"])
    return tensors


def convert_bert(model_dir: Path, out: Path, name: str = "") -> None:
    """Write ``out``: the BERT encoder in ``model_dir`` as a GGUF embedding model.

    The metadata follows what llama.cpp's BERT loader reads: encoder shape, no causal
    mask, the pooling of the sentence-transformers pipeline, and a WordPiece vocabulary
    in llama.cpp's spelling (continuation pieces lose ``##``, word starts gain ``▁``).

    Raises:
        ValueError: the directory does not hold a BERT model this converter understands.
    """
    import gguf
    import numpy as np

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert":
        raise ValueError(f"{model_dir}: model_type is {config.get('model_type')!r}, not 'bert'")
    tensors = read_safetensors(model_dir / "model.safetensors")
    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    if len(vocab) != config["vocab_size"]:
        raise ValueError(
            f"{model_dir}: vocab.txt has {len(vocab)} tokens, config says {config['vocab_size']}"
        )
    n_layers = config["num_hidden_layers"]
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layers)

    writer = gguf.GGUFWriter(out, arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    try:
        writer.add_name(name or model_dir.name)
        writer.add_context_length(config["max_position_embeddings"])
        writer.add_embedding_length(config["hidden_size"])
        writer.add_feed_forward_length(config["intermediate_size"])
        writer.add_block_count(n_layers)
        writer.add_head_count(config["num_attention_heads"])
        writer.add_layer_norm_eps(config["layer_norm_eps"])
        writer.add_causal_attention(False)
        writer.add_pooling_type(_pooling(model_dir))
        writer.add_file_type(gguf.LlamaFileType.ALL_F32)
        writer.add_token_type_count(config.get("type_vocab_size", 1))
        _add_vocab(writer, model_dir, vocab)
        for source, array in tensors.items():
            if source in _UNUSED:
                continue
            target = names.get_name(source, try_suffixes=(".weight", ".bias"))
            if target is None:
                raise ValueError(f"{model_dir}: tensor {source} has no GGUF name")
            writer.add_tensor(target, np.ascontiguousarray(array, dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()


def _pooling(model_dir: Path) -> gguf.PoolingType:
    """The pooling sentence-transformers applies, read from its ``1_Pooling`` config."""
    import gguf

    path = model_dir / "1_Pooling" / "config.json"
    pooling = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if pooling.get("pooling_mode_cls_token"):
        return gguf.PoolingType.CLS
    return gguf.PoolingType.MEAN


def _add_vocab(writer: gguf.GGUFWriter, model_dir: Path, vocab: list[str]) -> None:
    import gguf

    special_path = model_dir / "special_tokens_map.json"
    special = json.loads(special_path.read_text(encoding="utf-8")) if special_path.exists() else {}
    wanted = {kind: special.get(f"{kind}_token", f"[{kind.upper()}]") for kind in _SPECIAL}
    ids = {token: index for index, token in enumerate(vocab)}
    missing = [token for token in wanted.values() if token not in ids]
    if missing:
        raise ValueError(f"{model_dir}: vocab.txt lacks special tokens {missing}")
    control = set(wanted.values())

    tokens, types = [], []
    for token in vocab:
        if token in control:
            tokens.append(token)
            types.append(gguf.TokenType.CONTROL)
        else:
            tokens.append(token[2:] if token.startswith("##") else "\u2581" + token)
            types.append(gguf.TokenType.NORMAL)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_bos_token_id(ids[wanted["cls"]])
    writer.add_eos_token_id(ids[wanted["sep"]])
    writer.add_sep_token_id(ids[wanted["sep"]])
    writer.add_unk_token_id(ids[wanted["unk"]])
    writer.add_pad_token_id(ids[wanted["pad"]])
    writer.add_mask_token_id(ids[wanted["mask"]])
    writer.add_add_bos_token(True)
    writer.add_add_sep_token(True)
    writer.add_add_eos_token(False)
