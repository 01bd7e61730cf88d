"""The Models screen: what is installed, what this machine can run, and managing both.

Data flows one way: workers ask the engines and :mod:`offyai_tui.hw.hardware`, then set
the widgets' state (table rows, hardware panel, pull progress). Every engine call runs
in a worker, one group per kind of work, so a slow engine never freezes the screen and
a second press of the same action replaces the first. A failure ends as one line in
the status bar (or in the pull/import panel it belongs to); the screen keeps working.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import get_current_worker

from offyai_tui.engines.base import Engine
from offyai_tui.engines.errors import EngineError
from offyai_tui.hw.hardware import (
    DEFAULT_N_CTX,
    Hardware,
    SpeedLog,
    detect,
    format_bytes,
    recommend,
)
from offyai_tui.manage.actions import (
    Role,
    can_load,
    default_change,
    delete_model,
    load_model,
)
from offyai_tui.manage.gguf_import import import_gguf
from offyai_tui.manage.projectors import delete_preview
from offyai_tui.manage.pull_track import PullTracker
from offyai_tui.manage.rows import COLUMNS, Inventory, ModelRow, collect
from offyai_tui.settings.config import Settings
from offyai_tui.settings.config_write import ConfigWriteError, set_config_values
from offyai_tui.ui.bindings import bindings
from offyai_tui.ui.host import offy
from offyai_tui.ui.screens.dialogs import ConfirmScreen
from offyai_tui.ui.screens.models_palette import (
    EngineSource,
    PaletteCommand,
    StaticEngines,
    models_commands,
)
from offyai_tui.ui.widgets.common.ordered_keys import OrderedInput
from offyai_tui.ui.widgets.models.details import ModelDetailsScreen
from offyai_tui.ui.widgets.models.hardware import HardwarePanel
from offyai_tui.ui.widgets.models.importer import ImportPanel
from offyai_tui.ui.widgets.models.pull import PullPanel
from offyai_tui.ui.widgets.models.summary import ModelSummary
from offyai_tui.ui.widgets.models.table import ModelTable
from offyai_tui.util.textsafe import visible


class ImportCancelled(Exception):
    """The import worker was cancelled mid-copy."""


class ModelsScreen(Screen[None]):
    """Every model of every reachable engine, the machine's fit, pull and import."""

    DEFAULT_CSS = """
    ModelsScreen ModelTable { min-height: 6; }
    ModelsScreen #models-notes { color: $text-muted; height: auto; padding: 0 1; }
    ModelsScreen #models-status { height: auto; padding: 0 1; }
    ModelsScreen #models-status.-error { color: $text-error; }
    ModelsScreen #models-tools { height: auto; }
    ModelsScreen #models-tools > * { width: 1fr; }
    """

    AUTO_FOCUS = "#models-table"
    BINDINGS = bindings("models")

    class DefaultChanged(Message):
        """A model became the default for ``role`` (config written, settings updated)."""

        def __init__(self, role: Role, engine: str, model: str) -> None:
            super().__init__()
            self.role = role
            self.engine = engine
            self.model = model

    def __init__(
        self,
        engines: EngineSource,
        settings: Settings,
        *,
        hardware: Hardware | None = None,
        speedlog: SpeedLog | None = None,
        config_path: Path | None = None,
    ) -> None:
        """Build the screen; engines and hardware are only asked once it is mounted.

        Args:
            engines: Usually the app's engine registry.
            settings: The running app's settings (updated when a default changes).
            hardware: Facts to judge models against; detected in a worker when ``None``.
            speedlog: Measured speeds (default: the app's speed log file).
            config_path: The config file "set as default" writes (default: the user's).
        """
        super().__init__()
        self.engines = engines
        self.settings = settings
        self.hardware = hardware
        self.speedlog = speedlog or SpeedLog()
        self.config_path = config_path
        self.pull_engine: Engine | None = None
        self._recommended = False

    @property
    def n_ctx(self) -> int:
        """The context size fit verdicts assume: the chat's, else 4,096 tokens."""
        return self.settings.chat.num_ctx or DEFAULT_N_CTX

    def compose(self) -> ComposeResult:
        yield HardwarePanel(id="models-hardware")
        yield OrderedInput(
            placeholder="/ filter: name, engine, family, quant, loaded…", id="models-filter"
        )
        yield ModelTable(id="models-table")
        yield Static("", id="models-notes")
        yield ModelSummary(id="models-summary")
        yield Static("", id="models-status")
        with Horizontal(id="models-tools"):
            yield PullPanel(id="models-pull")
            yield ImportPanel(id="models-import")
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        self.refresh_models()

    # -- shortcuts ---------------------------------------------------------------

    @property
    def table(self) -> ModelTable:
        return self.query_one(ModelTable)

    @property
    def pull_panel(self) -> PullPanel:
        return self.query_one(PullPanel)

    @property
    def import_panel(self) -> ImportPanel:
        return self.query_one(ImportPanel)

    @property
    def status_text(self) -> str:
        return str(self.query_one("#models-status", Static).content)

    def say(self, text: str, *, error: bool = False) -> None:
        """Show one line of outcome in the status bar."""
        status = self.query_one("#models-status", Static)
        status.update(Text(visible(text)))  # names and server messages: inert
        status.set_class(error, "-error")

    def _engines(self) -> list[Engine]:
        try:
            return list(self.engines.configured())
        except Exception as exc:
            self.say(f"engines could not be set up: {exc}", error=True)
            return []

    # -- loading -----------------------------------------------------------------

    async def _ensure_hardware(self) -> Hardware:
        if self.hardware is None:
            self.hardware = await asyncio.to_thread(detect)
        if not self._recommended:
            recs = await asyncio.to_thread(
                lambda: recommend(self.hardware, n_ctx=self.n_ctx, log=self.speedlog)
            )
            self.query_one(HardwarePanel).show(self.hardware, recs, self.n_ctx)
            self._recommended = True
        return self.hardware

    @work(exclusive=True, group="models")
    async def refresh_models(self) -> None:
        """Rescan every engine and the hardware verdicts."""
        table = self.table
        table.loading = not table.all_rows
        try:
            try:
                hw = await self._ensure_hardware()
            except Exception as exc:
                self.query_one(HardwarePanel).failed(str(exc))
                return
            prepare = getattr(self.engines, "prepare_plugins", None)
            if prepare is not None:  # engine plugins are imported off the event loop
                await prepare()
            engines = self._engines()
            inventory = await collect(engines, hw, log=self.speedlog, n_ctx=self.n_ctx)
        except Exception as exc:
            self.say(f"could not list models: {_reason(exc)}", error=True)
            return
        finally:
            table.loading = False
        table.set_rows(inventory.rows)
        if self.status_text == "refreshing…":
            self.say(f"{len(inventory.rows)} models from {len(inventory.answered)} engines")
        notes = "; ".join(inventory.notes)
        skipped = list(getattr(self.engines, "skipped", []))  # e.g. a plugin that did not load
        shown = "; ".join([f"not reachable: {notes}"] * bool(notes) + skipped)
        self.query_one("#models-notes", Static).update(Text(visible(shown)))
        self.pull_engine = next((e for e in engines if e.IMPLEMENTS_PULL), None)
        self._update_pull_availability(inventory)
        self._selection_changed()

    def _update_pull_availability(self, inventory: Inventory) -> None:
        engine = self.pull_engine
        if engine is None:
            self.pull_panel.set_available(False, "no configured engine can download models")
        elif not inventory.reached(engine):
            self.pull_panel.set_available(
                False,
                f"pulling needs Ollama, which is not reachable at {engine.endpoint}"
                " (start it with `ollama serve`)",
            )
        else:
            self.pull_panel.set_available(True)

    # -- selection, filter, sort -------------------------------------------------

    @property
    def selected(self) -> ModelRow | None:
        return self.table.selected

    def _selection_changed(self) -> None:
        self.query_one(ModelSummary).show(self.selected)
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#models-table")
    def _row_highlighted(self) -> None:
        self._selection_changed()

    @on(DataTable.RowSelected, "#models-table")
    def _row_selected(self) -> None:
        self.action_details()

    @on(Input.Changed, "#models-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)
        self._selection_changed()

    @on(Input.Submitted, "#models-filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    def action_focus_filter(self) -> None:
        self.query_one("#models-filter", Input).focus()

    def action_focus_pull(self) -> None:
        self.query_one("#pull-name", Input).focus()

    def action_focus_import(self) -> None:
        self.query_one("#import-path", Input).focus()

    def action_cycle_sort(self) -> None:
        self.table.cycle_sort()
        self._said_sort()

    def action_reverse_sort(self) -> None:
        self.table.sort_by(self.table.sort_column, reverse=not self.table.sort_reverse)
        self._said_sort()

    def _said_sort(self) -> None:
        label = dict(COLUMNS)[self.table.sort_column]
        order = "descending" if self.table.sort_reverse else "ascending"
        self.say(f"sorted by {label.lower()}, {order}")
        self._selection_changed()

    def action_refresh(self) -> None:
        self.say("refreshing…")
        self._recommended = False  # new measured runs may change the picks
        self.refresh_models()

    def action_back(self) -> None:
        """Esc: cancel a running pull, else leave an input, else leave the screen."""
        if self.pull_panel.running:
            self.workers.cancel_group(self, "pull")
            return
        if isinstance(self.focused, Input):
            self.table.focus()
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    # -- row actions -------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        row = self.selected
        if action == "details":
            return row is not None or None
        if action == "set_default":
            if row is None:
                return None
            wanted = row.can_chat if parameters and parameters[0] == "chat" else row.is_embedding
            return wanted or None
        if action == "toggle_load":
            if row is None:
                return None
            able = row.engine.IMPLEMENTS_UNLOAD if row.loaded else can_load(row.engine)
            return able or None
        if action == "delete":
            return (row is not None and row.deletable) or None
        return True

    def action_details(self) -> None:
        if self.selected is not None:
            self.app.push_screen(ModelDetailsScreen(self.selected))

    def action_set_default(self, role: Role) -> None:
        row = self.selected
        if row is not None:
            self._set_default(role, row)

    @work(exclusive=True, group="config")
    async def _set_default(self, role: Role, row: ModelRow) -> None:
        change = default_change(role, row.engine, row.info.name)
        try:
            path = await asyncio.to_thread(set_config_values, change.updates, self.config_path)
        except (ConfigWriteError, OSError) as exc:
            self.say(str(exc), error=True)
            return
        change.apply(self.settings)
        caveat = f" ({change.caveat})" if change.caveat else ""
        self.say(f"{change.summary}; saved to {path}{caveat}")
        self.post_message(self.DefaultChanged(role, row.engine.label, row.info.name))

    def action_toggle_load(self) -> None:
        row = self.selected
        if row is not None:
            self._toggle_load(row)

    @work(exclusive=True, group="load")
    async def _toggle_load(self, row: ModelRow) -> None:
        name, verb = row.info.name, "unload" if row.loaded else "load"
        self.say(f"{verb}ing {name}…")
        try:
            if row.loaded:
                await row.engine.unload(name)
            else:
                await load_model(row.engine, name)
        except Exception as exc:  # one line, whatever the engine raised
            self.say(f"could not {verb} {name}: {_reason(exc)}", error=True)
            return
        self.say(f"{name} {verb}ed")
        self.refresh_models()

    def action_delete(self) -> None:
        row = self.selected
        if row is None or not row.deletable:
            return
        size = format_bytes(row.info.size_bytes) if row.info.size_bytes else "its disk space"
        frees = "frees" if row.info.path else "frees up to"
        question = f"Delete {row.info.name} from {row.engine.label}? This {frees} {size}."
        if row.loaded:
            question += " It is loaded now and will be unloaded first."
        if row.info.details.get("projector"):
            self._ask_with_projector(row, question)
        else:
            self._ask_delete(row, question)

    @work(exclusive=True, group="delete")
    async def _ask_with_projector(self, row: ModelRow, question: str) -> None:
        """The question says whether the projector goes too (its folder is listed in a
        thread: a models folder on a slow disk never freezes the screen)."""
        note = await asyncio.to_thread(delete_preview, row.info)
        self._ask_delete(row, f"{question} {note}" if note else question)

    def _ask_delete(self, row: ModelRow, question: str) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(row)

        self.app.push_screen(ConfirmScreen(question, yes="Delete"), answered)

    @work(exclusive=True, group="delete")
    async def _delete(self, row: ModelRow) -> None:
        name = row.info.name
        self.say(f"deleting {name}…")
        try:
            deleted = await delete_model(row.engine, name)
        except Exception as exc:  # one line, whatever the engine raised
            self.say(f"could not delete {name}: {_reason(exc)}", error=True)
            self.refresh_models()
            return
        freed = f"freed up to {format_bytes(row.info.size_bytes)}" if row.info.size_bytes else ""
        self.say(deleted.line(name, row.engine.label, freed))
        self.refresh_models()

    # -- pull --------------------------------------------------------------------

    @on(PullPanel.Requested)
    def _pull_requested(self, event: PullPanel.Requested) -> None:
        if self.pull_engine is None:
            self.pull_panel.set_status("no configured engine can download models", error=True)
            return
        self.pull(event.model)

    @on(PullPanel.CancelRequested)
    def _pull_cancel(self) -> None:
        self.workers.cancel_group(self, "pull")

    @work(exclusive=True, group="pull")
    async def pull(self, name: str) -> None:
        """Download ``name`` through the pull engine, showing each layer's progress."""
        panel, engine = self.pull_panel, self.pull_engine
        if engine is None:
            return
        tracker = PullTracker(name)
        panel.started(name)
        try:
            async for step in engine.pull(name):
                panel.progress(tracker, tracker.update(step))
        except asyncio.CancelledError:
            panel.finished(f"pull of {name} cancelled")
            raise
        except EngineError as exc:
            panel.finished(str(exc), error=True)
            return
        except Exception as exc:
            panel.finished(f"could not pull {name}: {_reason(exc)}", error=True)
            return
        panel.finished(tracker.summary())
        self.refresh_models()

    # -- import ------------------------------------------------------------------

    @on(ImportPanel.Requested)
    def _import_requested(self, event: ImportPanel.Requested) -> None:
        self.import_panel.set_running(True)
        self.import_panel.set_status(f"checking {event.path.strip()}…")
        self.import_file(event.path)

    @work(exclusive=True, group="import", thread=True)
    def import_file(self, path: str) -> None:
        """Check the GGUF header, then copy the file into the models folder."""
        worker = get_current_worker()
        panel = self.import_panel

        def progress(done: int, total: int) -> None:
            if worker.is_cancelled:
                raise ImportCancelled
            percent = 100 * done // total if total else 100
            self.app.call_from_thread(panel.set_status, f"copying… {percent}%")

        try:
            imported = import_gguf(path, progress=progress)
        except ImportCancelled:
            self.app.call_from_thread(panel.set_status, "import cancelled")
            return
        except Exception as exc:  # one line, never a crashed app
            self.app.call_from_thread(panel.set_status, _reason(exc), error=True)
            return
        finally:
            self.app.call_from_thread(panel.set_running, False)
        self.app.call_from_thread(panel.set_status, imported.summary())
        self.app.call_from_thread(self.refresh_models)

    # -- palette -----------------------------------------------------------------

    async def palette_commands(self) -> list[PaletteCommand]:
        """Entries for the app's command palette while this screen is open."""
        return models_commands(self)


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def make_screen(app: App[Any]) -> ModelsScreen:
    """The screen for the app shell's ``open_screen('models')`` hook."""
    host = offy(app)
    registry = host.registry
    if registry is None:
        engine = host.engine
        registry = StaticEngines([engine] if engine is not None else [])
    return ModelsScreen(registry, host.settings)
