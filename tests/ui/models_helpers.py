"""Parts shared by the Models screen tests: fixed hardware, a host app that shows the
screen, waiting for its workers, and a scripted engine whose pull holds still."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import httpx
from textual.app import App

from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    Engine,
    ErrorEvent,
    Health,
    LoadedModel,
    Message,
    ModelInfo,
    PullProgress,
)
from offyai_tui.engines.errors import EngineError
from offyai_tui.hw.hardware import GPU, Hardware
from offyai_tui.settings.config import Settings
from offyai_tui.ui.screens.models import ModelsScreen
from offyai_tui.ui.screens.models_palette import StaticEngines

GiB = 1024**3
LAPTOP = Hardware(
    cpu_model="Test CPU 7 (fixed for tests)",
    physical_cores=4,
    logical_cores=8,
    ram_total_bytes=16 * GiB,
    ram_available_bytes=11 * GiB,
    gpus=(GPU("NVIDIA GeForce RTX 3060", 12 * GiB, 11 * GiB),),
    system="Linux",
    machine="x86_64",
)
NO_GPU = Hardware("Test CPU 2", 2, 4, 8 * GiB, 6 * GiB, system="Linux", machine="x86_64")
SIZE = (140, 50)


class Host(App[None]):
    """A tiny app that shows one Models screen and records what it reports upwards."""

    def __init__(self, screen: ModelsScreen) -> None:
        super().__init__()
        self.models = screen
        self.defaults: list[tuple[str, str, str]] = []

    def on_mount(self) -> None:
        self.push_screen(self.models)

    def on_models_screen_default_changed(self, event: ModelsScreen.DefaultChanged) -> None:
        self.defaults.append((event.role, event.engine, event.model))


async def settle(app: App[None], rounds: int = 200) -> None:
    """Wait until every worker (and any worker they started) has finished."""
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await asyncio.sleep(0.02)
        if all(w.is_finished for w in app.workers):
            return
    raise AssertionError("workers did not finish")


def real_screen(engines: list[Engine], settings: Settings, hw: Hardware = NO_GPU) -> ModelsScreen:
    return ModelsScreen(StaticEngines(engines), settings, hardware=hw)


async def tags(url: str) -> list[str]:
    async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
        return [m["name"] for m in (await client.get("/api/tags")).json()["models"]]


def text_of(widget: object) -> str:
    """The plain text a Static shows."""
    return str(widget.content)  # type: ignore[attr-defined]


async def select(app: App[None], screen: ModelsScreen, key: str) -> None:
    assert screen.table.select_key(key), [r.key for r in screen.table.rows_shown]
    await asyncio.sleep(0)
    assert screen.selected is not None and screen.selected.key == key


class ShelfEngine(Engine):
    """A scripted engine: fixed models, and a pull that stops after one step until cancelled."""

    kind = "shelf"
    IMPLEMENTS_PULL = True
    IMPLEMENTS_DELETE = True
    IMPLEMENTS_UNLOAD = True

    def __init__(
        self, models: Sequence[ModelInfo], loaded: Sequence[str] = (), label: str = "ollama"
    ) -> None:
        self.models = list(models)
        self.loaded_names = list(loaded)
        self._label = label
        self.held = asyncio.Event()
        self.closed = False

    @property
    def label(self) -> str:
        return self._label

    @property
    def endpoint(self) -> str:
        return "http://127.0.0.1:11434"

    async def health(self) -> Health:
        return Health(True, self.kind, self.endpoint)

    async def list_models(self) -> list[ModelInfo]:
        return list(self.models)

    async def loaded(self) -> list[LoadedModel]:
        return [LoadedModel(name) for name in self.loaded_names]

    async def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        yield ErrorEvent(EngineError("this engine does not chat"))

    async def pull(self, name: str) -> AsyncIterator[PullProgress]:
        digest = "sha256:" + "5e" * 32
        yield PullProgress("pulling manifest")
        yield PullProgress("pulling 5e5e5e5e5e5e", digest, 2_000_000_000, 500_000_000)
        try:
            self.held.set()
            await asyncio.Event().wait()
            yield PullProgress("success")
        finally:
            self.closed = True
