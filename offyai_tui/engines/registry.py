"""Engine registry: builds the configured engines and picks one at startup.

Detection probes Ollama, then the OpenAI-compatible endpoints in config order,
concurrently and within one total budget (300 ms by default): the first in that
order that answers wins. If none does, the embedded llama.cpp engine with the
bundled model is used, so a first run works with no network and no server.
The choice and the reason are recorded for ``offyai doctor`` and the status bar.

An engine named explicitly (``--engine ollama``, ``engine.default = "ollama"``)
is never swapped for another one behind the user's back: if it does not answer
the probe it is still the one used, and the selection says it is not answering
(``Selection.answering``), so requests fail visibly with the server's address.
An engine whose address cannot be used (a garbled ``OLLAMA_HOST``) is skipped
by auto-detection with one warning naming the setting.

Engines are built through the factories of the ``offyai.engines`` entry points
(:mod:`offyai_tui.engines.plugins`). A plugin engine is used when it is named
(``--engine NAME``, ``engine.default``) and listed with every engine
(:meth:`EngineRegistry.configured`); auto-detection probes only the built-in
servers, so a start never imports or runs third-party code it was not asked to.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field, replace

from offyai_tui.engines import plugins
from offyai_tui.engines.base import Engine, Health, ModelInfo
from offyai_tui.engines.errors import EngineError
from offyai_tui.engines.plugins import (
    BUILTINS,
    PluginError,
    build,
    canonical,
    problems,
    registered,
)
from offyai_tui.settings.config import OpenAIEndpoint, Settings

KINDS = ("ollama", "openai", "llamacpp")


@dataclass(frozen=True)
class Probe:
    """Outcome of probing one engine at startup."""

    engine: str
    endpoint: str
    ok: bool
    detail: str
    elapsed_ms: float


@dataclass
class Selection:
    """The engine chosen at startup, and why."""

    engine: Engine
    reason: str
    probes: list[Probe] = field(default_factory=list)
    answering: bool = True
    """False when an explicitly chosen engine did not answer its probe."""
    warnings: list[str] = field(default_factory=list)
    """Engines left out because their settings cannot be used (one line each)."""


@dataclass(frozen=True)
class Listed:
    """One registered engine as ``offyai models`` and ``offyai doctor`` list it."""

    name: str
    package: str
    builtin: bool
    ok: bool
    detail: str
    """``built in``; for a plugin, whether it answers and where, or why it cannot be used."""

    def line(self) -> str:
        if not self.name:  # a registration left out (a taken name)
            return self.detail
        if self.builtin:
            return f"{self.name} (built in)"
        return f"{self.name} (plugin, {self.package}): {self.detail}"

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "package": self.package, "builtin": self.builtin,
                "ok": self.ok, "detail": self.detail}


class EngineRegistry:
    """Owns engine instances for one app or CLI run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engines: dict[str, Engine] = {}
        self.selection: Selection | None = None
        self.skipped: list[str] = []
        """One line per configured engine :meth:`configured` could not build."""

    # -- construction -------------------------------------------------------

    def _endpoints(self) -> list[OpenAIEndpoint]:
        return self.settings.openai or [OpenAIEndpoint()]

    def _build(self, name: str, **extra: object) -> Engine:
        return build(name, self.settings.engines.get(name, {}), self.settings, **extra)

    def ollama(self) -> Engine:
        if "ollama" not in self._engines:
            self._engines["ollama"] = self._build("ollama")
        return self._engines["ollama"]

    def openai(self, name: str | None = None) -> Engine:
        endpoints = self._endpoints()
        endpoint = next((e for e in endpoints if e.name == name), None) if name else endpoints[0]
        if endpoint is None:
            names = ", ".join(e.name for e in endpoints)
            raise EngineError(f"no OpenAI-compatible endpoint named {name!r}; configured: {names}")
        key = f"openai:{endpoint.name}"
        if key not in self._engines:
            self._engines[key] = self._build("openai", endpoint=endpoint)
        return self._engines[key]

    def llamacpp(self) -> Engine:
        if "llamacpp" not in self._engines:
            self._engines["llamacpp"] = self._build("llamacpp")
        return self._engines["llamacpp"]

    def plugin(self, name: str) -> Engine:
        """The engine a plugin registered as ``name``, built once with ``[engines.NAME]``.

        Raises:
            EngineError: no engine has that name.
            PluginError: the plugin cannot be imported or built (one line).
        """
        if name not in self._engines:
            self._engines[name] = self._build(name)
        return self._engines[name]

    def plugins(self) -> list[Engine]:
        """Every plugin engine that can be built; the others are named in :attr:`skipped`."""
        engines = []
        for name, entry in registered().items():
            if entry.builtin:
                continue
            try:
                engines.append(self.plugin(name))
            except PluginError as exc:
                self.skipped.append(f"{exc}; skipped")
        return engines

    async def prepare_plugins(self) -> None:
        """Read the entry points and import the plugin modules off the event loop.

        The app's screens call :meth:`configured` on the event loop; a plugin
        module that takes long to import must not freeze the screen there.
        """
        def load_all() -> None:
            for name, entry in registered().items():
                if not entry.builtin:
                    with contextlib.suppress(EngineError):  # reported when built
                        plugins.factory(name)

        await asyncio.to_thread(load_all)

    def engine(self, kind: str, name: str | None = None) -> Engine:
        """The engine of ``kind`` (``ollama``, ``openai[:name]``, ``llamacpp``, the name
        of a configured OpenAI-compatible endpoint, or a plugin's name)."""
        if ":" in kind:
            kind, name = kind.split(":", 1)
        if kind == "ollama":
            return self.ollama()
        if kind == "openai":
            return self.openai(name)
        if kind in {"llamacpp", "llama.cpp", "llama-cpp"}:
            return self.llamacpp()
        if any(e.name == kind for e in self.settings.openai):
            return self.openai(kind)  # a model's engine is its endpoint's name (the palette)
        return self.plugin(canonical(kind))

    def configured(self) -> list[Engine]:
        """Every engine the config names that can be built, in detection order, then
        every engine plugin (see :meth:`plugins`).

        One that cannot (an ``OLLAMA_HOST`` that is no address) is left out and
        named in :attr:`skipped`, for commands to print.
        """
        engines: list[Engine] = []
        factories = [("ollama", self.ollama)]
        factories += [(e.name, lambda n=e.name: self.openai(n)) for e in self._endpoints()]
        self.skipped = []
        for label, factory in factories:
            try:
                engines.append(factory())
            except Exception as exc:  # an unusable address
                self.skipped.append(f"{exc}; {label} skipped")
        engines.append(self.llamacpp())
        return engines + self.plugins()

    # -- detection ----------------------------------------------------------

    async def detect(self) -> Selection:
        """Choose the engine for this run (cached after the first call).

        Raises:
            EngineError: an explicitly chosen engine cannot even be built (its
                address is unusable, an unknown endpoint name).
        """
        if self.selection is not None:
            return self.selection
        wanted = self.settings.engine.default
        kind, _, name = wanted.partition(":")
        by = (f"--engine {wanted}" if "engine.default" in self.settings.overrides
              else f'engine.default = "{wanted}" in config.toml')
        if kind in {"llamacpp", "llama.cpp", "llama-cpp"}:
            self.selection = Selection(self.llamacpp(), by)
            return self.selection
        if kind != "auto":
            return await self._explicit(kind, name or None, by)
        candidates: list[Engine] = []
        skipped: list[Probe] = []
        warnings: list[str] = []
        factories = [("ollama", self.ollama)]
        factories += [(e.name, lambda name=e.name: self.openai(name)) for e in self._endpoints()]
        for label, factory in factories:
            try:
                candidates.append(factory())
            except Exception as exc:  # e.g. an OLLAMA_HOST that is no address
                skipped.append(Probe(label, "", False, str(exc), 0.0))
                warnings.append(f"{exc}; {label} skipped")
        probes = await self._probe_all(candidates)
        for engine, probe in zip(candidates, probes):
            if probe.ok:
                reason = f"{engine.label} answered at {probe.endpoint} ({probe.detail})"
                self.selection = Selection(engine, reason, probes, warnings=warnings)
                return self.selection
        probes += skipped
        tried = "; ".join(f"{p.engine} at {p.endpoint}: {p.detail}" for p in probes) or "none"
        reason = f"no server answered ({tried}); using the embedded llama.cpp engine"
        self.selection = Selection(self.llamacpp(), reason, probes, warnings=warnings)
        return self.selection

    async def _explicit(self, kind: str, name: str | None, by: str) -> Selection:
        """The engine the user named, answering or not: never a silent substitute.

        ``openai`` without a name means any configured endpoint: the first that
        answers, else the first one.
        """
        names: list[str | None] = [name]
        if kind == "openai" and name is None:
            names = [e.name for e in self._endpoints()]
        if canonical(kind) not in BUILTINS:  # a plugin's module imports off the event loop
            with contextlib.suppress(EngineError):  # raised again, once, when it is built
                await asyncio.to_thread(plugins.factory, kind)
        try:
            engines = [self.engine(kind, n) for n in names]
        except EngineError:
            raise
        except Exception as exc:  # an address httpx cannot use
            raise EngineError(f"{kind}: {exc}") from None
        probes = await self._probe_all(engines)
        for engine, probe in zip(engines, probes):
            if probe.ok:
                reason = (
                    f"{by}; {engine.label} answered at {probe.endpoint} ({probe.detail})"
                )
                self.selection = Selection(engine, reason, probes)
                return self.selection
        engine, probe = engines[0], probes[0]
        reason = (
            f"{engine.label} at {engine.endpoint} is not answering ({probe.detail}); "
            f"it was chosen with {by}, so no other engine is used"
        )
        self.selection = Selection(engine, reason, probes, answering=False)
        return self.selection

    async def _probe_all(self, engines: list[Engine]) -> list[Probe]:
        budget = self.settings.engine.probe_timeout_ms / 1000
        start = time.perf_counter()
        tasks = [asyncio.ensure_future(_health(e)) for e in engines]
        if tasks:
            await asyncio.wait(tasks, timeout=budget)
        probes = []
        for engine, task in zip(engines, tasks):
            elapsed = (time.perf_counter() - start) * 1000
            if task.done() and not task.cancelled() and task.exception() is None:
                health: Health = task.result()
                detail = (
                    (f"version {health.version}" if health.version else "ok")
                    if health.ok
                    else (health.detail or "not answering")
                )
                probes.append(Probe(engine.label, engine.endpoint, health.ok, detail, elapsed))
            else:
                task.cancel()
                probes.append(
                    Probe(
                        engine.label,
                        engine.endpoint,
                        False,
                        f"no answer in {budget * 1000:.0f} ms",
                        elapsed,
                    )
                )
        return probes

    # -- aggregate views ----------------------------------------------------

    async def listing(self) -> list[Listed]:
        """Every registered engine; each plugin built and probed (within the probe
        budget), or the one line saying why it cannot be used."""
        await self.prepare_plugins()
        rows: list[Listed] = []
        built: list[tuple[int, Engine]] = []
        for name, entry in registered().items():
            if entry.builtin:
                rows.append(Listed(name, entry.package, True, True, "built in"))
                continue
            try:
                built.append((len(rows), self.plugin(name)))
                rows.append(Listed(name, entry.package, False, False, ""))
            except PluginError as exc:
                rows.append(Listed(name, entry.package, False, False, exc.why))
        probes = await self._probe_all([engine for _, engine in built])
        for (at, engine), probe in zip(built, probes):
            state = "answering" if probe.ok else "not answering"
            detail = f"{state} at {engine.endpoint} ({probe.detail})"
            rows[at] = replace(rows[at], ok=probe.ok, detail=detail)
        rows += [Listed("", "", False, False, line) for line in problems()]
        return rows

    async def all_models(self) -> list[ModelInfo]:
        """Models of every reachable engine (unreachable ones are skipped)."""
        await self.prepare_plugins()
        engines = self.configured()
        results = await asyncio.gather(*(e.list_models() for e in engines), return_exceptions=True)
        models: list[ModelInfo] = []
        for result in results:
            if isinstance(result, list):
                models.extend(result)
        return models

    async def aclose(self) -> None:
        await asyncio.gather(*(e.aclose() for e in self._engines.values()), return_exceptions=True)
        self._engines.clear()
        self.selection = None


async def _health(engine: Engine) -> Health:
    try:
        return await engine.health()
    except Exception as exc:
        return Health(False, engine.kind, engine.endpoint, detail=str(exc))
