"""The built-in pull catalog: its data, lookups, suggestions and strict validation."""

from __future__ import annotations

from importlib import resources

import pytest

from offyai_tui.hw.catalog import (
    TIERS,
    CatalogError,
    by_tier,
    load_catalog,
    lookup,
    parse_catalog,
    suggest,
    tier_for,
)

SEED = ["llama3.1:8b", "mistral", "phi3", "gemma", "codellama"]
CURRENT = [
    "qwen2.5:0.5b", "qwen2.5:1.5b", "qwen3:0.6b", "qwen3:1.7b", "qwen3:4b", "llama3.2:1b",
    "llama3.2:3b", "gemma3:1b", "gemma3:4b", "nomic-embed-text", "all-minilm",
    "mxbai-embed-large",
]  # fmt: skip


def test_the_catalog_ships_as_package_data() -> None:
    assert resources.files("offyai_tui").joinpath("data/catalog.toml").is_file()
    assert load_catalog() is load_catalog()


def test_catalog_covers_the_seed_list_and_current_small_and_embedding_models() -> None:
    names = {e.name for e in load_catalog()}
    assert set(SEED + CURRENT) <= names


def test_every_tier_has_choices() -> None:
    for tier in TIERS:
        assert len(by_tier(tier)) >= 3, tier


@pytest.mark.parametrize("entry", load_catalog(), ids=lambda e: e.name)
def test_entries_are_plausible(entry) -> None:
    assert entry.description and len(entry.description) < 100
    assert entry.tier == tier_for(entry.params_b, entry.capabilities)
    assert entry.n_heads % entry.n_kv_heads == 0
    shape = entry.shape()
    assert shape.weights_bytes == entry.size_bytes
    assert 0 < shape.kv_bytes_per_token() < 2 * 1024**2
    # The size on disk must agree with the parameter count at the tag's quantization.
    per_param = entry.size_bytes / (entry.params_b * 1e9)
    low, high = {"Q4_K_M": (0.45, 0.85), "Q4_0": (0.45, 0.85), "Q8_0": (0.95, 1.2),
                 "F16": (1.8, 2.2)}[entry.quantization]  # fmt: skip
    assert low <= per_param <= high, f"{entry.name}: {per_param:.2f} bytes per parameter"


def test_catalog_shape_of_llama3_matches_the_published_kv_size() -> None:
    shape = lookup("llama3.1:8b").shape()
    assert shape.kv_bytes_per_token() == 128 * 1024
    assert shape.kv_cache_bytes(8192) == 1024**3


def test_tiers_follow_parameter_counts() -> None:
    assert [tier_for(p) for p in (0.27, 1.2, 3.8, 4.9, 5.0, 8.5, 9.9, 10.0, 70.0)] == [
        "small", "small", "small", "small", "medium", "medium", "medium", "large", "large"
    ]  # fmt: skip
    assert tier_for(0.3, ("embedding",)) == "embedding"
    assert lookup("all-minilm").tier == "embedding"
    assert lookup("llama3.2:3b").tier == "small"
    assert lookup("llama3.1:8b").tier == "medium"
    assert lookup("codellama:13b").tier == "large"


def test_parameter_size_label() -> None:
    assert lookup("gemma3:270m").parameter_size == "270M"
    assert lookup("qwen3:8b").parameter_size == "8.2B"


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("mistral", "mistral"),
        ("mistral:latest", "mistral"),
        ("Mistral:7B", "mistral"),
        ("phi3:mini", "phi3"),
        ("llama3.2", "llama3.2:3b"),
        ("  qwen3:8b ", "qwen3:8b"),
        ("all-minilm:latest", "all-minilm"),
    ],
)
def test_lookup_understands_ollama_tags(typed: str, found: str) -> None:
    assert lookup(typed).name == found


def test_lookup_of_an_unknown_model() -> None:
    assert lookup("no-such-model") is None
    assert lookup("qwen3:999b") is None


def test_suggest_by_name_prefix_orders_by_size() -> None:
    assert [e.name for e in suggest("qwen3", limit=20)] == [
        "qwen3:0.6b", "qwen3:1.7b", "qwen3:4b", "qwen3:8b", "qwen3:14b", "qwen3:32b"
    ]  # fmt: skip
    assert [e.name for e in suggest("LLAMA3.2")] == ["llama3.2:1b", "llama3.2:3b"]


def test_suggest_by_family_or_capability_after_names() -> None:
    assert [e.name for e in suggest("embed")] == [
        "nomic-embed-text", "mxbai-embed-large", "all-minilm"
    ]  # fmt: skip
    code = [e.name for e in suggest("code", limit=10)]
    assert code[:3] == ["codellama", "codellama:13b", "codellama:34b"]
    assert [e.name for e in suggest("vision", limit=10)] == [
        "gemma3:4b",
        "gemma3:27b",
        "gemma3:12b",
    ]


def test_suggest_limits_and_empty_results() -> None:
    assert len(suggest("q", limit=3)) == 3
    assert suggest("zzz") == []
    assert suggest("") == list(load_catalog()[:8])


GOOD = """
[[model]]
name = "toy:1b"
family = "toy"
params = 1.0
size_mb = 700
capabilities = ["chat"]
layers = 16
heads = 16
kv_heads = 4
head_dim = 64
context = 4096
description = "A toy."
"""


def test_parse_a_minimal_catalog() -> None:
    (entry,) = parse_catalog(GOOD)
    assert (entry.size_bytes, entry.key_length, entry.value_length) == (700_000_000, 64, 64)
    custom = GOOD.replace("head_dim = 64", "key_length = 192\nvalue_length = 128")
    (entry,) = parse_catalog(custom)
    assert (entry.key_length, entry.value_length) == (192, 128)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[model]\n", "catalog.toml: not valid TOML"),
        ("", "catalog.toml: no [[model]] entries"),
        (GOOD.replace('name = "toy:1b"\n', ""), "model 1 (?): missing 'name'"),
        (
            GOOD.replace("layers = 16", 'layers = "16"'),
            "model 1 (toy:1b): 'layers' has the wrong type",
        ),
        (GOOD.replace("layers = 16", "layers = true"), "'layers' has the wrong type"),
        (GOOD.replace("layers = 16", "layers = 0"), "'layers' must be positive"),
        (GOOD.replace("layers = 16", "layers = 16\nlayer = 3"), "unknown key 'layer'"),
        (GOOD.replace("head_dim = 64\n", ""), "needs 'head_dim' or 'key_length'"),
        (GOOD.replace('["chat"]', "[]"), "'capabilities' is empty"),
        (GOOD.replace('["chat"]', "[1]"), "'capabilities' must be a list of names"),
        (GOOD + GOOD.replace('"toy:1b"', '"other"\naliases = ["TOY:1B"]'), "names both toy:1b"),
    ],
)
def test_malformed_catalog_is_one_readable_line(text: str, message: str) -> None:
    with pytest.raises(CatalogError) as raised:
        parse_catalog(text)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
