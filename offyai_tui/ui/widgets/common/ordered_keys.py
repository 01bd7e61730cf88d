"""Text fields that apply every key in arrival order, bound keys included.

Textual types a printable key in the focused field's own key handler, but a
bound key (Enter to send, Backspace, the arrows, Ctrl+J) travels up through
the parents' message queues and its action runs in the app's queue later. In a
burst (a paste without bracketed paste, fast typing over SSH) the characters
after a bound key were typed before its action ran: "text⏎" sent an empty or
cut prompt, "ab⌫c" gave "ab". The fields here look the key up in the active
bindings themselves and run the action in their own handler, so every key,
bound or not, is applied once, in order, in one queue.

Only public Textual API is used (``Screen.active_bindings``, ``App.run_action``,
``Key.is_printable``), so the order holds whatever Textual does with bound
keys; the tests check the behaviour, not the mechanism.

A field that no longer has focus when a key reaches it (an earlier key of the
same burst opened a dialog) hands the key back to the app (``reroute_key``),
which gives it to whatever has focus once that is ready: keys typed after F2
land in the rename box, not in the prompt behind it. After a key whose
action may move focus (one of the screen's or app's, or the field's submit)
the field posts :class:`KeyApplied`, which bubbles up behind the messages the
action posted (``Input.Submitted`` closing a dialog, say); the app holds later
keys until it arrives, so they go where that left the focus. The field's own
editing keys (Backspace, arrows, Ctrl+J) settle at once.

Pastes show control characters inert: an escape sequence copied from a
terminal arrives as visible ``␛[31m``, never as keys or as raw bytes that
could drive the terminal when drawn.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from textual import events
from textual.message import Message
from textual.widgets import Input

if TYPE_CHECKING:
    from textual.widget import Widget

MODIFIERS = frozenset({"alt", "ctrl", "super", "meta", "hyper"})
"""Modifiers that make a key a command, not text (Shift still types)."""


def modifiers(key: str) -> set[str]:
    """The command modifiers of a Textual key name (``alt+d`` -> ``{"alt"}``)."""
    return set(key.split("+")[:-1]) & MODIFIERS


def is_plain_character(event: events.Key) -> bool:
    """A key that types its character: printable and without Alt/Ctrl/…

    Terminals send Alt+D as ESC d, which Textual reports as ``alt+d`` with the
    character ``d``; a text field must not type that ``d``.
    """
    return event.is_printable and not modifiers(event.key)


def inert_controls(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with control characters made visible and harmless.

    C0 controls and DEL become their Unicode Control Pictures (ESC is ``␛``),
    so a pasted colour code reads ``␛[31m``; tabs stay; line ends become
    ``\\n`` (or spaces when ``keep_newlines`` is false, for one-line fields).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not keep_newlines:
        text = " ".join(part for part in text.split("\n"))
    out = []
    for char in text:
        code = ord(char)
        if char in "\n\t":
            out.append(char)
        elif code < 0x20:
            out.append(chr(0x2400 + code))
        elif code == 0x7F:
            out.append("\u2421")
        elif 0x80 <= code < 0xA0:  # C1 controls (CSI, OSC as single characters)
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out)


class KeyApplied(Message):
    """A field applied a key that may move focus; bubbles up to the app's key gate."""

    def __init__(self, field: Widget) -> None:
        super().__init__()
        self.field = field


class TypedText(Message, bubble=False):
    """Plain characters that arrived together, typed as one edit (see ``TYPES_IN_BATCHES``)."""

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys
        """(key name, character) pairs, in arrival order."""
        self.text = "".join(character for _, character in keys)


def widget_bindings(widget: Any) -> Any:
    """The bindings active for keys reaching ``widget`` (its own first)."""
    return widget.screen.active_bindings


class OrderedKeys:
    """Mixin for a text field (before ``TextArea`` or ``Input`` in the bases)."""

    GATHERED_KEYS: frozenset[str] = frozenset({"backspace", "ctrl+j"})
    """Editing keys that may join a gathered run (applied in order within it)."""
    TYPES_IN_BATCHES = False
    """Whether the app may hand over a run of plain characters as one :class:`TypedText`.

    A paste without bracketed paste is thousands of key presses; typed one by
    one into a long multi-line text each costs a re-wrap, and the field fell
    seconds behind.
    """

    KEEP_NEWLINES_IN_PASTE = True
    """Whether a paste's line ends are kept (multi-line fields) or become spaces."""
    SETTLING_ACTIONS = frozenset({"submit"})
    """The field's own actions whose messages may move focus (a dialog closes)."""

    def paste_taken(self, text: str) -> bool:
        """Whether a field used ``text`` as something other than typed text (a prompt
        takes a paste of file paths as dropped files); applied in its turn, in order."""
        return False

    def takes_keys(self) -> bool:
        """Whether keys reaching this field are meant for it: it has the app's focus."""
        widget: Any = self
        return widget.is_attached and widget.app.focused is widget

    async def _on_key(self, event: events.Key) -> None:
        widget: Any = self
        app = widget.app
        event.prevent_default()  # this handler runs the base class's own, below
        command = not is_plain_character(event)
        follow = False
        """Whether later keys must wait for what this key's action set off."""
        try:
            if not self.takes_keys():
                event.stop()
                _reroute(app, event)
                return
            ran = await self._run_binding(event) if command else None
            if ran is not None:
                event.stop()
                follow = ran.node is not self or ran.binding.action in self.SETTLING_ACTIONS
            elif event.is_printable and modifiers(event.key):
                event.stop()  # an unbound Alt+letter: neither typed nor passed on
            else:
                await _call(super()._on_key, event)  # type: ignore[misc]
        finally:
            _done(app, widget)
            if follow and widget.is_attached:
                widget.post_message(KeyApplied(widget))
            elif command:
                _settled(app, widget)
        self.key_applied()

    async def _run_binding(self, event: events.Key) -> Any:
        """Run the action bound to ``event.key`` for this field, here and now.

        Returns the ``ActiveBinding`` that ran, or ``None``.

        ``active_bindings`` is what Textual itself would consult once the key
        reached the app: this field's bindings first, then its parents', the
        screen's and the app's (keys the field types are not among them).
        Priority bindings were already tried by the app before the key got
        here; a binding whose action is disabled leaves the key to the field.
        """
        widget: Any = self
        active = widget.screen.active_bindings.get(event.key)
        if active is None or active.binding.priority or not active.enabled:
            return None
        ran = await widget.app.run_action(active.binding.action, active.node)
        return active if ran else None

    async def _on_paste(self, event: events.Paste) -> None:
        widget: Any = self
        app = widget.app
        event.prevent_default()
        event.stop()
        try:
            if not self.takes_keys():
                _reroute(app, event)
                return
            if self.paste_taken(event.text):
                return
            text = inert_controls(event.text, keep_newlines=self.KEEP_NEWLINES_IN_PASTE)
            await _call(super()._on_paste, events.Paste(text))  # type: ignore[misc]
        finally:
            _done(app, widget)
        self.key_applied()

    async def _on_typed_text(self, message: TypedText) -> None:
        widget: Any = self
        app = widget.app
        message.stop()
        try:
            if not self.takes_keys():
                for key, character in message.keys:
                    _reroute(app, events.Key(key, character))
                return
            await self._type_run(message.keys)
        finally:
            _done(app, widget)
        self.key_applied(len(message.keys))

    async def _type_run(self, keys: list[tuple[str, str]]) -> None:
        """Apply gathered keys in order: runs of characters as one edit each.

        Backspace right after characters just drops the last of them, and a key
        bound to this field's new-line action adds a line break to the run; any
        other key ends the run and is applied as it would be on its own.
        """
        run: list[str] = []

        async def flush() -> None:
            if run:
                await _call(super(OrderedKeys, self)._on_paste,  # type: ignore[misc]
                            events.Paste("".join(run)))
                run.clear()

        for key, character in keys:
            if character and not modifiers(key) and character.isprintable():
                run.append(character)
                continue
            if key == "backspace" and run and run[-1] != "\n":
                run.pop()
                continue
            event = events.Key(key, character or None)
            active = widget_bindings(self).get(key)
            if active is not None and active.node is self and active.binding.action in (
                "newline", "insert_newline"
            ):
                run.append("\n")
                continue
            await flush()
            if await self._run_binding(event) is None:
                await _call(super()._on_key, event)  # type: ignore[misc]
        await flush()

    def key_applied(self, count: int = 1) -> None:
        """Called after the field applied ``count`` keys or a paste (e.g. to paint at once)."""


class OrderedInput(OrderedKeys, Input):
    """A one-line :class:`~textual.widgets.Input` with ordered keys and inert pastes."""

    KEEP_NEWLINES_IN_PASTE = False


async def _call(handler: Any, event: events.Event) -> None:
    result = handler(event)
    if inspect.isawaitable(result):
        await result


def _reroute(app: Any, event: events.Event) -> None:
    """Give a key back to the app's key gate (see :mod:`offyai_tui.ui.key_gate`)."""
    reroute = getattr(app, "reroute_key", None)
    if reroute is not None:
        reroute(event)


def _done(app: Any, widget: Widget) -> None:
    done = getattr(app, "key_done", None)
    if done is not None:
        done(widget)


def _settled(app: Any, widget: Widget) -> None:
    settled = getattr(app, "key_settled", None)
    if settled is not None:
        settled(widget)
