"""A small multimodal projector (``mmproj`` GGUF) for a given model, written at test time.

No projector small enough ships in a package, and fetching one at test time is
not allowed, so the tests write one: a real GGUF in the layout llama.cpp's
``libmtmd`` loads for Gemma 3 (``clip.projector_type = gemma3``: a SigLIP-style
vision transformer, average pooling, RMS norm, one projection into the
model's embedding space). It is tiny (one block, 64 wide) and its weights are
seeded noise, so the model sees nothing meaningful; what it proves is the
engine's path: the projector loads, the image is decoded and encoded, and its
embeddings take their place in the prompt.

With ``image_size`` 224, ``patch_size`` 14 and ``merge`` 4 an image becomes
16 × 16 patches pooled to 4 × 4 = :data:`IMAGE_TOKENS` embeddings, which
llama.cpp wraps in Gemma's ``<start_of_image>`` and ``<end_of_image>``.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

from offyai_tui.engines.gguf_info import read_gguf_info

IMAGE_SIZE = 224
PATCH_SIZE = 14
MERGE = 4
IMAGE_TOKENS = (IMAGE_SIZE // PATCH_SIZE // MERGE) ** 2
"""Embeddings one image becomes in the prompt (16)."""
WRAP_TOKENS = 2
"""``<start_of_image>`` and ``<end_of_image>`` around them."""


def write_projector(
    out: Path, model: Path, *, width: int = 64, heads: int = 4, blocks: int = 1, seed: int = 0
) -> Path:
    """Write a Gemma-3-type projector for ``model`` (its embedding length) to ``out``."""
    n_embd = read_gguf_info(model).embedding_length
    rng = np.random.default_rng(seed)

    def noise(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    def ones(n: int) -> np.ndarray:
        return np.ones(n, np.float32)

    def zeros(n: int) -> np.ndarray:
        return np.zeros(n, np.float32)

    ffn = 2 * width
    writer = gguf.GGUFWriter(str(out), "clip")
    writer.add_string("clip.projector_type", "gemma3")
    writer.add_bool("clip.has_text_encoder", False)
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_bool("clip.has_llava_projector", False)
    writer.add_uint32("clip.vision.image_size", IMAGE_SIZE)
    writer.add_uint32("clip.vision.patch_size", PATCH_SIZE)
    writer.add_uint32("clip.vision.embedding_length", width)
    writer.add_uint32("clip.vision.feed_forward_length", ffn)
    writer.add_uint32("clip.vision.projection_dim", n_embd)
    writer.add_uint32("clip.vision.block_count", blocks)
    writer.add_uint32("clip.vision.attention.head_count", heads)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    writer.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    writer.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
    writer.add_bool("clip.use_gelu", True)
    writer.add_uint32("clip.vision.projector.scale_factor", MERGE)
    writer.add_tensor("v.patch_embd.weight", noise(width, 3, PATCH_SIZE, PATCH_SIZE))
    writer.add_tensor("v.patch_embd.bias", zeros(width))
    writer.add_tensor("v.position_embd.weight", noise((IMAGE_SIZE // PATCH_SIZE) ** 2, width))
    for i in range(blocks):
        for norm in ("ln1", "ln2"):
            writer.add_tensor(f"v.blk.{i}.{norm}.weight", ones(width))
            writer.add_tensor(f"v.blk.{i}.{norm}.bias", zeros(width))
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            writer.add_tensor(f"v.blk.{i}.{name}.weight", noise(width, width))
            writer.add_tensor(f"v.blk.{i}.{name}.bias", zeros(width))
        writer.add_tensor(f"v.blk.{i}.ffn_up.weight", noise(ffn, width))
        writer.add_tensor(f"v.blk.{i}.ffn_up.bias", zeros(ffn))
        writer.add_tensor(f"v.blk.{i}.ffn_down.weight", noise(width, ffn))
        writer.add_tensor(f"v.blk.{i}.ffn_down.bias", zeros(width))
    writer.add_tensor("v.post_ln.weight", ones(width))
    writer.add_tensor("v.post_ln.bias", zeros(width))
    writer.add_tensor("mm.input_projection.weight", noise(width, n_embd))
    writer.add_tensor("mm.soft_emb_norm.weight", ones(width))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
