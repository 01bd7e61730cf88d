"""OffyApp: screens, global keys, the command palette and themes.

The app owns what lives as long as the process: settings, the engine (given
by the caller, or detected in a worker after the first frame so startup never
waits on a probe), the workspace's conversation store (and so its lock) and
the themes. Screens ask the app for these; nothing here talks to a model.
"""

from __future__ import annotations

import gc
import importlib
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import FuzzySearch
from textual.markup import escape
from textual.screen import Screen

from offyai_tui.chat import ConversationStore, load_modes
from offyai_tui.engines.base import Engine
from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.bindings import bindings, spec
from offyai_tui.ui.key_gate import KeyGate
from offyai_tui.ui.themes import load_themes
from offyai_tui.util.textsafe import visible

if TYPE_CHECKING:
    from offyai_tui.tools import ToolBox
    from offyai_tui.ui.screens.documents_job import DocumentsJob

PaletteCommand = tuple[str, str, Callable[[], Any]]
"""(title such as ``Mode: Coder``, help line, callback)."""

OPTIONAL_SCREENS = {"models": "Models", "documents": "Documents"}
"""Screens other modules may provide: ``offyai_tui.ui.screens.<name>.make_screen(app)``."""

FALLBACK_THEME = "offyai-dark"


class OffyCommands(Provider):
    """Palette entries from the app and the screen it was opened on ("Mode: …", …).

    Titles and help lines carry names from outside (models a server lists, mode
    and theme files): every entry is made inert here, once, for all screens.
    """

    async def startup(self) -> None:
        app = self.app
        assert isinstance(app, OffyApp)
        self._commands = [
            (visible(title), visible(help_text), callback)
            for title, help_text, callback in await app.palette_commands(self.screen)
        ]

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands:
            yield DiscoveryHit(Content(title), callback, text=title, help=escape(help_text))

    async def search(self, query: str) -> Hits:
        fuzzy = FuzzySearch()
        for title, help_text, callback in self._commands:
            score, offsets = fuzzy.match(query, title)
            if score > 0:
                display = Content(title)
                for offset in offsets:
                    display = display.stylize("bold reverse", offset, offset + 1)
                yield Hit(score, display, callback, text=title, help=escape(help_text))


class OffyApp(KeyGate, App[int]):
    """The OffyAI terminal app (keys in arrival order: :mod:`offyai_tui.ui.key_gate`).

    Screens reach it as an :class:`~offyai_tui.ui.host.OffyHost`, the typed list
    of what it provides.
    """

    TITLE = "OffyAI"
    COMMANDS = App.COMMANDS | {OffyCommands}
    CSS = "Screen { layers: base overlay; }"

    BINDINGS = bindings("app")

    def __init__(
        self,
        *,
        settings: Settings,
        workspace: Workspace,
        registry: EngineRegistry | None = None,
        engine: Engine | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.workspace = workspace
        self.registry = registry
        self.engine: Engine | None = engine
        """The engine answering now; ``None`` while detection runs."""
        self.engine_reason = "given by the caller" if engine is not None else ""
        self.modes = load_modes()
        self.store: ConversationStore | None = None
        self.documents_job: DocumentsJob | None = None
        """The workspace's documents and indexing run (``screens.documents_job``)."""
        self.declined_documents: set[tuple[str, str]] = set()
        """This session's No answers to sending documents to a remote engine."""
        self._toolbox: ToolBox | None = None
        self.reported_notices: set[str] = set()
        """Lines turns have shown once (a tool server that would not start)."""
        self.startup_warnings: list[str] = list(settings.warnings)
        self._own_themes: list[str] = []
        self._startup_theme = ""
        self._warmed = False
        self._load_themes()

    # ---------------------------------------------------------------- startup

    def on_mount(self) -> None:
        self._apply_keymap()
        self.startup_warnings += self.modes.warnings
        try:
            self.store = ConversationStore.open(
                self.workspace, modes=self.modes, read_only_fallback=True
            )
        except OSError as exc:  # not another instance: the data dir cannot be written
            from offyai_tui.util.oserrors import describe

            reason = describe(exc)
            self.startup_warnings.append(f"workspace {self.workspace.name!r}: {reason}; "
                                         "read-only: nothing is saved")
            self.store = ConversationStore.open(self.workspace, modes=self.modes, read_only=True)
            self.store.read_only_reason = reason
        from offyai_tui.ui.screens.chat import ChatScreen

        self.push_screen(ChatScreen(self.store))
        for warning in self.startup_warnings:
            self.notify(warning, severity="warning", timeout=8, markup=False)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.engine is None:
            self.call_after_refresh(self.run_worker, self._detect_engine(), group="detect")
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        gc.enable()  # `offyai` turns collection off while it starts (see __main__)
        if self.engine is not None:  # else once detection is over (_detect_engine)
            self._start_warm_up()

    def _start_warm_up(self) -> None:
        """Warm up in a thread: not before the first frame, nor during the engine probe.

        The warm-up holds the GIL for a good part of a second, and the probe
        has a deadline of a few hundred milliseconds.
        """
        if not self._warmed:
            self._warmed = True
            self.run_worker(self._warm_up, thread=True, group="warm")

    async def _detect_engine(self) -> None:
        try:
            await self._detect()
        finally:
            self._start_warm_up()

    async def _detect(self) -> None:
        if self.registry is None:
            self.set_engine(None, "no engine configured")
            return
        try:
            selection = await self.registry.detect()
        except Exception as exc:
            self.set_engine(None, f"engine detection failed: {exc}")
            return
        for warning in selection.warnings:  # e.g. an OLLAMA_HOST that is no address
            self.notify(warning, severity="warning", timeout=10, markup=False)
        if not selection.answering:  # chosen explicitly: used, and said to be down
            self.notify(selection.reason, title="Engine not answering", severity="error",
                        timeout=15, markup=False)
        self.set_engine(selection.engine, selection.reason)

    def set_engine(self, engine: Engine | None, reason: str) -> None:
        """Switch the engine answering new requests (detection, palette)."""
        self.engine = engine
        self.engine_reason = reason
        screen = self._chat_screen()
        if screen is not None:
            screen.engine_changed()

    @staticmethod
    def _warm_up() -> None:
        """Load the token estimator and a code highlighter off the UI thread."""
        from textual.highlight import highlight

        from offyai_tui.chat.tokens import offline_encoding

        offline_encoding()
        highlight("x = 1", language="python")

    def toolbox(self) -> ToolBox:
        """The workspace's tools; MCP servers start on first use and stop with the app."""
        if self._toolbox is None:
            from offyai_tui.tools import ToolBox

            embedder = None
            if self.registry is not None:
                try:
                    embedder = self.registry.engine(self.settings.rag.embedding_engine)
                except Exception:  # no embedder: document search falls back to keywords
                    embedder = None
            self._toolbox = ToolBox(self.settings, self.workspace, embedding_engine=embedder)
        self._toolbox.chat_engine = self.engine  # results holding files follow the consent rule
        return self._toolbox

    async def on_unmount(self) -> None:
        if self._toolbox is not None:
            await self._toolbox.aclose()
        if self.documents_job is not None:
            self.documents_job.close()
        if self.store is not None:
            self.store.close()
        if self.registry is not None:
            await self.registry.aclose()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification (screens and widgets call the app's): escapes made inert.

        Messages carry server errors, file and model names; a control character
        in them is shown (``\\x1b``), never sent to the terminal.
        """
        super().notify(
            visible(message, multiline=True), title=visible(title), severity=severity,
            timeout=timeout, markup=markup,
        )  # fmt: skip

    # ------------------------------------------------------------ keys, themes

    def _apply_keymap(self) -> None:
        """Apply ``[keys]`` after :func:`offyai_tui.ui.keymap.check_keymap`: a bad or
        clashing entry keeps the default key and is one start-up warning."""
        if not self.settings.keys:
            return
        from offyai_tui.ui.keymap import check_keymap

        keymap, warnings = check_keymap(self.settings.keys)
        self.startup_warnings += warnings
        self.settings.keys = keymap  # the help screen and key hints show what is in effect
        self.set_keymap(keymap)

    def key_for(self, binding_id: str, default: str = "") -> str:
        """How the key of ``binding_id`` (after the user's keymap) is shown, e.g. ``^r``.

        Without ``default``, the binding's default key comes from the binding table.
        """
        keys = self.settings.keys.get(binding_id) or default or spec(binding_id).keys
        keys = keys.split(",")[0].strip()
        return self.get_key_display(Binding(keys, ""))

    def _load_themes(self) -> None:
        """Register the theme files and pick the configured theme, before anything is styled.

        The theme is set without its watcher, which re-parses every stylesheet
        and restyles every widget (a tenth of the time to the first frame) to
        replace a theme that nothing was drawn with yet; the watcher's other
        effects (the app's theme classes, the CSS variables) are applied here.
        """
        themes, warnings = load_themes()
        self.startup_warnings += warnings
        for theme in themes:
            self.register_theme(theme)
        self._own_themes = [theme.name for theme in themes]
        wanted = self.settings.ui.theme
        if wanted not in self.available_themes:
            self.startup_warnings.append(f"theme {wanted!r} not found; using {FALLBACK_THEME}")
            wanted = FALLBACK_THEME if FALLBACK_THEME in self.available_themes else "textual-dark"
        self._startup_theme = wanted
        self.set_reactive(App.theme, wanted)
        dark = self.current_theme.dark
        classes = {name: False for name in self.classes if name.startswith("-theme-")}
        classes.update({f"-theme-{wanted}": True, "-dark-mode": dark, "-light-mode": not dark})
        self.update_classes(classes, update=False)
        self._refresh_truecolor_filter(self.ansi_theme)
        self.stylesheet.set_variables(self.get_css_variables())

    def _theme_changed(self, theme: Any) -> None:
        """Save a theme picked in the palette as ``ui.theme`` in config.toml."""
        if self.theme in (self.settings.ui.theme, self._startup_theme):
            return
        from offyai_tui.settings.config_write import ConfigWriteError, set_config_value

        try:
            set_config_value("ui.theme", self.theme)
        except ConfigWriteError as exc:
            self.notify(f"Theme not saved: {exc}", severity="warning", markup=False)
            return
        self.settings.ui.theme = self.theme

    # ----------------------------------------------------------------- palette

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title in ("Quit", "Keys"):
                yield command

    async def palette_commands(self, screen: Screen) -> list[PaletteCommand]:
        """Every palette entry for ``screen``: its own, then screens and themes."""
        commands: list[PaletteCommand] = []
        own: Callable[[], Awaitable[list[PaletteCommand]]] | None = getattr(
            screen, "palette_commands", None
        )
        if own is not None:
            commands += await own()
        commands.append(("Screen: Help", "every key binding", self.action_help))
        for name, label in OPTIONAL_SCREENS.items():
            commands.append(
                (f"Screen: {label}", f"open the {label} screen",
                 lambda name=name: self.action_open_screen(name))
            )
        others = sorted(set(self.available_themes) - set(self._own_themes))
        for name in [*self._own_themes, *others]:
            marker = " (current)" if name == self.theme else ""
            commands.append(
                (f"Theme: {name}", f"switch the colour theme{marker}",
                 partial(self._use_theme, name))
            )
        return commands

    def _use_theme(self, name: str) -> None:
        self.theme = name

    # ------------------------------------------------------------------ screens

    def action_help(self) -> None:
        from offyai_tui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_open_screen(self, name: str) -> None:
        """Open an optional screen if its module exists, else say it is not there."""
        label = OPTIONAL_SCREENS.get(name, name)
        if type(self.screen).__name__.lower().startswith(name):
            return
        try:
            module = importlib.import_module(f"offyai_tui.ui.screens.{name}")
            factory = module.make_screen
        except (ImportError, AttributeError):
            self.notify(f"The {label} screen is not available in this version.",
                        severity="warning")
            return
        self.push_screen(factory(self))

    def _chat_screen(self) -> Any:
        from offyai_tui.ui.screens.chat import ChatScreen

        for screen in self.screen_stack:
            if isinstance(screen, ChatScreen):
                return screen
        return None

    # ---------------------------------------------------------------- clipboard

    def copy_text(self, text: str, what: str) -> None:
        """Copy via OSC 52 (works over SSH), and a local clipboard tool if present."""
        self.copy_to_clipboard(text)
        self.run_worker(partial(_local_clipboard, text), thread=True, group="clipboard")
        self.notify(f"Copied {what}", timeout=3)


def _local_clipboard(text: str) -> bool:
    """Also put ``text`` on the system clipboard (terminals without OSC 52)."""
    if sys.platform == "darwin":
        commands = [["pbcopy"]]
    else:
        commands = [["wl-copy"], ["xclip", "-selection", "clipboard"], ["xsel", "-b", "-i"]]
    for command in commands:
        if shutil.which(command[0]) is None:
            continue
        try:
            subprocess.run(command, input=text.encode("utf-8"), timeout=2, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            continue
        return True
    return False


def make_app(
    *,
    settings: Settings,
    workspace: Workspace,
    registry: EngineRegistry | None = None,
    engine: Engine | None = None,
) -> OffyApp:
    """Build the app; the CLI and tests share this (tests pass a scripted engine)."""
    return OffyApp(settings=settings, workspace=workspace, registry=registry, engine=engine)
