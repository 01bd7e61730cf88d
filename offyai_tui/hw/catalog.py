"""Built-in catalog of models to pull, with the numbers to judge them before downloading.

The pull dialog suggests names from it, the Models screen shows each entry's tier,
size and fit, and the recommender picks from it. The data lives in
``data/catalog.toml`` (one ``[[model]]`` table per entry, preference order within a
tier); this module validates it strictly, since a typo there would silently give wrong
advice.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from offyai_tui.hw.fit import ModelShape

TIERS = ("small", "medium", "large", "embedding")
VARIANT_BITS = {"Q4_K_M": 4.85, "Q8_0": 8.5, "F16": 16.0}
"""Bits per weight of the variants every chat family is published in."""
SMALL_MAX_B = 5.0
"""Below this many billion parameters a chat model is small (the 1–4B class)."""
MEDIUM_MAX_B = 10.0
"""Below this it is medium (7–9B); from here on it is large (12B+)."""


class CatalogError(ValueError):
    """The catalog data is malformed; the message is one readable line."""


def tier_for(params_b: float, capabilities: Sequence[str] = ("chat",)) -> str:
    if "embedding" in capabilities:
        return "embedding"
    if params_b < SMALL_MAX_B:
        return "small"
    return "medium" if params_b < MEDIUM_MAX_B else "large"


def normalize_name(name: str) -> str:
    """Ollama's view of a name: case-insensitive, ``:latest`` when no tag is given."""
    name = name.strip().lower()
    return name if ":" in name else f"{name}:latest"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    """What ``ollama pull`` takes."""
    family: str
    params_b: float
    size_bytes: int
    """Approximate size on disk of the default tag."""
    capabilities: tuple[str, ...]
    n_layers: int
    n_heads: int
    n_kv_heads: int
    key_length: int
    value_length: int
    context_length: int
    description: str
    aliases: tuple[str, ...] = ()
    quantization: str = "Q4_K_M"

    @property
    def tier(self) -> str:
        return tier_for(self.params_b, self.capabilities)

    @property
    def parameter_size(self) -> str:
        """``8.2B`` or ``270M``, as Ollama prints it."""
        if self.params_b >= 1:
            return f"{self.params_b:.1f}B"
        return f"{self.params_b * 1000:.0f}M"

    def shape(self) -> ModelShape:
        return ModelShape(
            n_layers=self.n_layers,
            n_kv_heads=self.n_kv_heads,
            key_length=self.key_length,
            value_length=self.value_length,
            weights_bytes=self.size_bytes,
            context_length=self.context_length,
            n_heads=self.n_heads,
            params=self.params_b * 1e9,
            quant=self.quantization,
        )

    def variant(self, quant: str) -> CatalogEntry:
        """This model in another quantization (``Q4_K_M``, ``Q8_0``, ``F16``).

        The default tag's size is what Ollama lists; another variant's size is the
        parameter count times that type's bits per weight (Q8_0 stores 8.5: 32 weights
        and one f16 scale per block; Q4_K_M about 4.85). Llama 3.1 8B: 4.9, 8.5 and 16 GB.
        """
        wanted = quant.upper().replace("FP16", "F16")
        if wanted == self.quantization.upper():
            return self
        if wanted not in VARIANT_BITS:
            known = ", ".join(VARIANT_BITS)
            raise CatalogError(f"{self.name}: no {quant} variant is known (known: {known})")
        size = int(self.params_b * 1e9 * VARIANT_BITS[wanted] / 8)
        return dataclasses.replace(self, size_bytes=size, quantization=wanted)

    def matches(self, name: str) -> bool:
        wanted = normalize_name(name)
        return any(normalize_name(n) == wanted for n in (self.name, *self.aliases))


_FIELDS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "name": (str, True),
    "family": (str, True),
    "params": ((int, float), True),
    "size_mb": ((int, float), True),
    "capabilities": (list, True),
    "layers": (int, True),
    "heads": (int, True),
    "kv_heads": (int, True),
    "head_dim": (int, False),
    "key_length": (int, False),
    "value_length": (int, False),
    "context": (int, True),
    "description": (str, True),
    "aliases": (list, False),
    "quant": (str, False),
}


def _entry(raw: Any, where: str) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a table")
    where = f"{where} ({raw.get('name', '?')})"
    for key in raw:
        if key not in _FIELDS:
            raise CatalogError(f"{where}: unknown key {key!r}")
    for key, (kind, required) in _FIELDS.items():
        if key not in raw:
            if required:
                raise CatalogError(f"{where}: missing {key!r}")
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise CatalogError(f"{where}: {key!r} has the wrong type ({value!r})")
        if isinstance(value, (int, float)) and value <= 0:
            raise CatalogError(f"{where}: {key!r} must be positive")
        if isinstance(value, list) and not all(isinstance(v, str) and v for v in value):
            raise CatalogError(f"{where}: {key!r} must be a list of names")
    key_length: int | None = raw.get("key_length", raw.get("head_dim"))
    if key_length is None:
        raise CatalogError(f"{where}: needs 'head_dim' or 'key_length'")
    value_length = raw.get("value_length", key_length)
    if not raw["capabilities"]:
        raise CatalogError(f"{where}: 'capabilities' is empty")
    return CatalogEntry(
        name=raw["name"],
        family=raw["family"],
        params_b=float(raw["params"]),
        size_bytes=int(raw["size_mb"] * 1_000_000),
        capabilities=tuple(raw["capabilities"]),
        n_layers=raw["layers"],
        n_heads=raw["heads"],
        n_kv_heads=raw["kv_heads"],
        key_length=key_length,
        value_length=value_length,
        context_length=raw["context"],
        description=raw["description"],
        aliases=tuple(raw.get("aliases", ())),
        quantization=raw.get("quant", "Q4_K_M"),
    )


def parse_catalog(text: str, source: str = "catalog.toml") -> tuple[CatalogEntry, ...]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML ({exc})") from None
    models = raw.get("model")
    if not isinstance(models, list) or not models:
        raise CatalogError(f"{source}: no [[model]] entries")
    entries = tuple(_entry(m, f"{source}: model {i + 1}") for i, m in enumerate(models))
    seen: dict[str, str] = {}
    for entry in entries:
        for name in (entry.name, *entry.aliases):
            key = normalize_name(name)
            if seen.get(key, entry.name) != entry.name:
                raise CatalogError(f"{source}: {name!r} names both {seen[key]} and {entry.name}")
            seen[key] = entry.name
    return entries


@functools.cache
def load_catalog() -> tuple[CatalogEntry, ...]:
    """The bundled catalog (parsed once)."""
    text = resources.files("offyai_tui").joinpath("data/catalog.toml").read_text("utf-8")
    return parse_catalog(text)


def lookup(name: str, entries: Sequence[CatalogEntry] | None = None) -> CatalogEntry | None:
    """The entry for an installed or typed name (``mistral:latest`` finds ``mistral``)."""
    return next((e for e in entries or load_catalog() if e.matches(name)), None)


_QUANT_SUFFIX = re.compile(
    r"-(?P<quant>q\d(?:_k)?(?:_[a-z0-9]+)?|fp16|f16|bf16)$", re.IGNORECASE
)
_FLAVOUR_SUFFIX = re.compile(r"-(instruct|chat|text|it)$", re.IGNORECASE)


def resolve_tag(name: str, entries: Sequence[CatalogEntry] | None = None) -> CatalogEntry | None:
    """A catalog entry for an Ollama tag, in the quantization the tag names.

    ``llama3.1:8b`` is the default tag; ``llama3.1:8b-instruct-fp16`` and
    ``llama3.1:70b-instruct-q4_K_M`` name a size, a flavour and a quantization.
    Returns ``None`` for a name the catalog does not know; raises :class:`CatalogError`
    for a quantization it has no figures for.
    """
    entry = lookup(name, entries)
    if entry is not None:
        return entry
    base, _, tag = name.strip().partition(":")
    match = _QUANT_SUFFIX.search(tag)
    quant = match.group("quant") if match else ""
    size = _FLAVOUR_SUFFIX.sub("", tag[: match.start()] if match else tag)
    candidates = [f"{base}:{size}"] if size else [base]
    entry = next((e for c in candidates if (e := lookup(c, entries)) is not None), None)
    if entry is None:
        return None
    return entry.variant(quant) if quant else entry


def by_tier(tier: str, entries: Sequence[CatalogEntry] | None = None) -> list[CatalogEntry]:
    """Entries of one tier, in preference order."""
    return [e for e in entries or load_catalog() if e.tier == tier]


def suggest(
    prefix: str, limit: int = 8, entries: Sequence[CatalogEntry] | None = None
) -> list[CatalogEntry]:
    """Entries for a partly typed name, for the pull field's completion.

    Names (and aliases) starting with ``prefix`` come first, ordered by model then size;
    then entries whose family or a capability starts with it (``embed`` finds the
    embedding models). An empty prefix lists the catalog in preference order.
    """
    entries = entries or load_catalog()
    wanted = prefix.strip().lower()
    if not wanted:
        return list(entries[:limit])
    by_name = sorted(
        (e for e in entries if any(n.lower().startswith(wanted) for n in (e.name, *e.aliases))),
        key=lambda e: (e.name.split(":")[0], e.params_b),
    )
    by_kind = [
        e
        for e in entries
        if e not in by_name
        and (e.family.startswith(wanted) or any(c.startswith(wanted) for c in e.capabilities))
    ]
    return (by_name + by_kind)[:limit]
