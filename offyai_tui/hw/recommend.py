"""Judging models for this machine: one model (:func:`assess`) or the catalog (:func:`recommend`).

The pick in each tier is the most preferred catalog entry that fits and decodes at
least :data:`MIN_USABLE_TPS` (measured speed when this machine has run it, otherwise
the middle of the estimate). When every fitting entry is slower than that, the pick is
the most preferred among those within :data:`NEAR_FASTEST` of the fastest, so a weak
machine gets the best of the least slow rather than a specialist model that happens to
be smallest; the reason says it will be slow. Every other entry carries a one-line
reason. Embedding models are judged on fit alone: decode speed does not apply to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from offyai_tui.hw.catalog import TIERS, CatalogEntry, load_catalog
from offyai_tui.hw.detect import Hardware, detect
from offyai_tui.hw.fit import DEFAULT_N_CTX, Fit, ModelShape, fit_model, fit_unknown
from offyai_tui.hw.runtime import embedded_threads, for_engine, observed_fit, token_overhead
from offyai_tui.hw.speed import SpeedEstimate, estimate_speed
from offyai_tui.hw.speedlog import SpeedLog

MIN_USABLE_TPS = 5.0
"""Slower than this, an answer arrives slower than people read."""
NEAR_FASTEST = 0.7
"""On a slow machine, models at least this fraction as fast as the fastest are on par."""


@dataclass(frozen=True)
class Assessment:
    """Everything the Models table shows for one model on this machine."""

    fit: Fit
    speed: SpeedEstimate | None

    @property
    def expected_tps(self) -> float:
        """Measured median when known, else the middle of the estimate, else 0."""
        if self.speed is None:
            return 0.0
        if self.speed.measured:
            return self.speed.measured.median_tps
        return self.speed.mid_tps

    def summary(self) -> str:
        """The fit explanation, then the speed: one line."""
        speed = self.speed.label() if self.speed else ""
        return f"{self.fit.explanation}; about {speed}" if speed else self.fit.explanation


def assess(
    shape: ModelShape | None,
    hw: Hardware | None = None,
    *,
    model: str = "",
    engine: str | None = None,
    n_ctx: int = DEFAULT_N_CTX,
    kv_type: str = "f16",
    log: SpeedLog | None = None,
    unknown_reason: str = "no model metadata",
    embedding: bool = False,
    engine_kind: str = "",
    threads: int | None = None,
    loaded: tuple[int, int] | None = None,
) -> Assessment:
    """Fit and speed of one model; ``shape=None`` gives an ``unknown`` fit with the reason.

    ``model``/``engine`` select this model's measured runs in ``log``. Embedding models
    (``embedding=True``) get no speed: they do not generate tokens. ``engine_kind``
    limits the machine to what that engine can use (the embedded engine never offloads;
    see :mod:`offyai_tui.hw.runtime`), ``threads`` is how many CPU threads it decodes
    with, and ``loaded`` is Ollama's ``(size, size_vram)`` for a loaded model: the
    placement it reports replaces the predicted one.
    """
    hw = hw or detect()
    usable, _why = for_engine(hw, engine_kind)
    if engine_kind == "llamacpp" and threads is None:
        threads = embedded_threads(hw)
    if shape is None:
        fit = fit_unknown(unknown_reason)
    elif loaded is not None and loaded[0] > 0:
        fit = observed_fit(shape, usable, loaded[0], loaded[1], n_ctx)
    else:
        fit = fit_model(shape, usable, n_ctx, kv_type)
    if embedding:
        return Assessment(fit, None)
    measured = log.measured(model, engine) if log and model else None
    calibrated = log.calibrated_bandwidth(fit.kind, engine) if log and fit.fits else None
    speed = estimate_speed(
        fit, usable, measured=measured, calibrated_bps=calibrated, threads=threads,
        token_overhead_s=token_overhead(engine_kind),
    )  # fmt: skip
    return Assessment(fit, speed)


@dataclass(frozen=True)
class Candidate:
    entry: CatalogEntry
    assessment: Assessment
    reason: str
    """Why it was picked, or why not."""


@dataclass(frozen=True)
class Recommendation:
    tier: str
    pick: Candidate | None
    others: tuple[Candidate, ...]
    """The tier's other entries, in preference order."""

    def summary(self) -> str:
        if self.pick:
            return f"{self.tier}: {self.pick.entry.name}: {self.pick.reason}"
        if not self.others:
            return f"{self.tier}: no catalog entries"
        smallest = min(self.others, key=lambda c: c.entry.size_bytes)
        return f"{self.tier}: none fits; the smallest, {smallest.entry.name}, {smallest.reason}"


def recommend(
    hw: Hardware | None = None,
    *,
    entries: Sequence[CatalogEntry] | None = None,
    n_ctx: int = DEFAULT_N_CTX,
    log: SpeedLog | None = None,
) -> list[Recommendation]:
    """One :class:`Recommendation` per tier (small, medium, large, embedding)."""
    machine = hw or detect()
    catalog = entries if entries is not None else load_catalog()

    def judge(entry: CatalogEntry) -> tuple[CatalogEntry, Assessment]:
        # Runs are logged under the name the engine reported, which may be an alias.
        names = (entry.name, *entry.aliases)
        model = next((n for n in names if log and log.measured(n)), entry.name)
        embedding = entry.tier == "embedding"
        return entry, assess(
            entry.shape(), machine, model=model, n_ctx=n_ctx, log=log, embedding=embedding
        )

    return [_choose(tier, [judge(e) for e in catalog if e.tier == tier]) for tier in TIERS]


def _choose(tier: str, judged: list[tuple[CatalogEntry, Assessment]]) -> Recommendation:
    fitting = [(e, a) for e, a in judged if a.fit.fits]
    usable = [(e, a) for e, a in fitting if tier == "embedding" or a.expected_tps >= MIN_USABLE_TPS]
    if usable:
        pick, slow_pick = usable[0], False
    elif fitting:
        fastest = max(a.expected_tps for _, a in fitting)
        near = [(e, a) for e, a in fitting if a.expected_tps >= NEAR_FASTEST * fastest]
        pick, slow_pick = near[0], True
    else:
        pick, slow_pick = None, False
    others = []
    for entry, judgement in judged:
        if pick and entry is pick[0]:
            continue
        others.append(Candidate(entry, judgement, _why_not(entry, judgement, pick, tier)))
    chosen = None
    if pick:
        reason = pick[1].summary()
        if slow_pick:
            reason = f"fits, but slow on this machine: {reason}"
        chosen = Candidate(pick[0], pick[1], reason)
    return Recommendation(tier, chosen, tuple(others))


def _why_not(
    entry: CatalogEntry,
    judgement: Assessment,
    pick: tuple[CatalogEntry, Assessment] | None,
    tier: str,
) -> str:
    if not judgement.fit.fits:
        return judgement.fit.explanation
    speed = judgement.speed.label() if judgement.speed else ""
    if tier != "embedding" and judgement.expected_tps < MIN_USABLE_TPS:
        return f"fits ({judgement.fit.label}) but too slow for chat: about {speed or '? tok/s'}"
    where = f"{judgement.fit.label}, about {speed}" if speed else judgement.fit.label
    preferred = pick[0].name if pick else "another model"
    return f"fits too ({where}); {preferred} is preferred"
