"""GGUF headers: the real bundled files, files written by the ``gguf`` package, and damage."""

from __future__ import annotations

import shutil
import struct
import time
from pathlib import Path

import gguf
import numpy as np
import pytest

from offyai_tui.engines import bundled, gguf_info
from offyai_tui.engines.chat_format import (
    chat_format_for,
    fold_system_messages,
    format_for_architecture,
)
from offyai_tui.engines.errors import BadModelFile
from offyai_tui.engines.gguf_info import format_count, is_gguf, read_gguf_info


@pytest.fixture(autouse=True)
def _cold_cache() -> None:
    gguf_info._cache.clear()


def test_smollm2_header() -> None:
    info = read_gguf_info(bundled.smollm2_path())
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert (info.block_count, info.head_count, info.head_count_kv) == (30, 9, 3)
    assert (info.key_length, info.value_length, info.embedding_length) == (64, 64, 576)
    assert info.context_length == 8192
    assert info.vocab_size == 49152
    assert info.tokenizer_model == "gpt2"
    assert info.chat_template and "<|im_start|>" in info.chat_template
    assert 130e6 < info.parameter_count < 140e6
    assert info.parameter_size == "135M"
    assert info.capabilities == ("chat",)
    assert chat_format_for(info) is None  # its own template is used
    assert info.kv_cache_bytes(4096) == 4096 * 30 * 3 * (64 + 64) * 2


def test_gemma3_header_is_read_fast_and_has_no_template() -> None:
    path = bundled.gemma3_path()
    start = time.perf_counter()
    info = read_gguf_info(path)
    elapsed = time.perf_counter() - start
    # gguf.GGUFReader decodes all 262,144 vocabulary entries and takes seconds here.
    assert elapsed < 1.0, f"reading the header took {elapsed:.2f} s"
    assert info.architecture == "gemma3"
    assert info.quantization == "Q4_K_M"
    assert info.vocab_size == 262144
    assert (info.block_count, info.head_count, info.head_count_kv) == (18, 4, 1)
    assert (info.key_length, info.value_length) == (256, 256)
    assert info.sliding_window == 512
    assert info.chat_template is None
    assert chat_format_for(info) == "gemma"
    assert 260e6 < info.parameter_count < 280e6


def test_minilm_header_is_an_embedding_model() -> None:
    info = read_gguf_info(bundled.minilm_path())
    assert info.architecture == "bert"
    assert info.embedding_length == 384
    assert info.pooling_type == 1
    assert not info.causal
    assert info.is_embedding
    assert info.capabilities == ("embedding",)
    assert info.quantization == "F32"


def test_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = _write_gguf(tmp_path / "tiny.gguf", "llama")
    first = read_gguf_info(path)
    assert read_gguf_info(path) is first
    _write_gguf(path, "gemma2")
    assert read_gguf_info(path).architecture == "gemma2"


def test_a_file_written_by_the_gguf_package(tmp_path: Path) -> None:
    path = _write_gguf(tmp_path / "tiny.gguf", "qwen2", template="{{ messages }}")
    info = read_gguf_info(path)
    assert info.architecture == "qwen2"
    assert info.context_length == 2048
    assert info.block_count == 2
    assert info.head_count_kv == 2  # per-layer array: the largest value counts
    assert info.key_length == 16  # no key_length key: embedding / heads
    assert info.vocab_size == 300  # a long string array is skipped, its length kept
    assert info.metadata["tokenizer.ggml.tokens"] == ("<array>", 300)
    assert info.parameter_count == 64 * 32 + 100
    assert info.chat_template == "{{ messages }}"
    assert info.tokenizer_model == "gpt2"
    assert info.quantization == "Q8_0"
    assert info.name == "tiny test"
    assert info.parameter_size == "2.1K"


def test_not_gguf(tmp_path: Path) -> None:
    path = tmp_path / "notes.gguf"
    path.write_text("these are my notes, not a model\n")
    with pytest.raises(BadModelFile, match=r"notes\.gguf is not a GGUF model"):
        read_gguf_info(path)
    assert not is_gguf(path)


def test_empty_and_missing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gguf"
    empty.touch()
    with pytest.raises(BadModelFile, match="empty"):
        read_gguf_info(empty)
    with pytest.raises(BadModelFile, match="cannot be read"):
        read_gguf_info(tmp_path / "nowhere.gguf")


def test_truncated_header(tmp_path: Path) -> None:
    partial = tmp_path / "partial.gguf"
    with bundled.smollm2_path().open("rb") as source:
        partial.write_bytes(source.read(200_000))  # the vocabulary is cut mid-way
    with pytest.raises(BadModelFile, match="truncated: its header runs past"):
        read_gguf_info(partial)
    assert is_gguf(partial)


def test_truncated_tensor_data(tmp_path: Path) -> None:
    path = _write_gguf(tmp_path / "cut.gguf", "llama")
    read_gguf_info(path)
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size - 40)
    with pytest.raises(BadModelFile, match=r"truncated: it has \d+ bytes but its tensors need"):
        read_gguf_info(path)


def test_truncated_real_model(tmp_path: Path) -> None:
    copy = tmp_path / "smol.gguf"
    shutil.copyfile(bundled.smollm2_path(), copy)
    with copy.open("r+b") as handle:
        handle.truncate(copy.stat().st_size - 4096)
    with pytest.raises(BadModelFile, match=r"smol\.gguf is truncated"):
        read_gguf_info(copy)


def test_unsupported_version_and_corrupt_counts(tmp_path: Path) -> None:
    old = tmp_path / "v1.gguf"
    old.write_bytes(b"GGUF" + struct.pack("<I", 1) + b"\0" * 64)
    with pytest.raises(BadModelFile, match="version 1 is not supported"):
        read_gguf_info(old)
    huge = tmp_path / "huge.gguf"
    huge.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 2**40, 1) + b"\0" * 64)
    with pytest.raises(BadModelFile, match="implausible counts"):
        read_gguf_info(huge)
    bad_type = tmp_path / "type.gguf"
    key = b"general.name"
    body = struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key
    bad_type.write_bytes(b"GGUF" + body + struct.pack("<I", 99) + b"\0" * 16)
    with pytest.raises(BadModelFile, match="unknown metadata value type 99"):
        read_gguf_info(bad_type)


def test_tables_agree_with_the_gguf_package() -> None:
    for type_id, sizes in gguf_info.GGML_TYPE_SIZES.items():
        assert tuple(gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(type_id)]) == sizes
    for file_type, name in gguf_info.FILE_TYPES.items():
        official = gguf.LlamaFileType(file_type).name
        assert official.removeprefix("MOSTLY_").removeprefix("ALL_") == name


def test_format_count_and_fallback_formats() -> None:
    assert format_count(134_515_008) == "135M"
    assert format_count(7_241_732_096) == "7.2B"
    assert format_count(0) == ""
    assert format_for_architecture("gemma2") == "gemma"
    assert format_for_architecture("llama") == "llama-2"
    assert format_for_architecture("something-new") == "chatml"


def test_system_text_is_folded_into_the_first_user_turn_for_gemma() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Bye"},
    ]
    folded = fold_system_messages(messages, "gemma")
    assert folded[0] == {"role": "user", "content": "Be brief.\n\nHi"}
    assert [m["role"] for m in folded] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "Hi"  # the caller's list is not changed
    assert fold_system_messages(messages, None) is messages
    assert fold_system_messages(messages[:1], "gemma") == [{"role": "user", "content": "Be brief."}]


def _write_gguf(path: Path, arch: str, template: str | None = None) -> Path:
    """A tiny but complete GGUF written by the reference ``gguf`` writer."""
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name("tiny test")
    writer.add_context_length(2048)
    writer.add_embedding_length(32)
    writer.add_block_count(2)
    writer.add_head_count(2)
    writer.add_head_count_kv([1, 2])
    writer.add_file_type(7)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list([f"tok{i}" for i in range(300)])
    if template:
        writer.add_chat_template(template)
    writer.add_tensor("weight", np.ones((64, 32), dtype=np.float32))
    writer.add_tensor("bias", np.ones(100, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
