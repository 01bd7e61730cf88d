"""The app's key gate: no key is lost while the screen that should take it gets ready.

Textual hands each key to whatever has focus when the app reads it from its
queue. A burst of keys is read long before the work its first keys start is
done, so the rest went astray:

- at startup, before the prompt exists, keys went to an empty screen (lost),
  or a ``d`` or ``m`` in them opened the Documents or Models screen;
- after F2, Ctrl+F or Tab the following keys went to the prompt, not to the
  rename box, search box or widget that was about to get focus.

The gate holds keys, in arrival order, until they can go where the user
meant: until the chat screen says its prompt has focus (:meth:`open_keys`),
while the current screen is still mounting or has not focused anything yet,
and while a key that may move focus (any key but a plain character) is still
on its way (see :mod:`offyai_tui.ui.widgets.common.ordered_keys`). Plain
characters for the focused field go straight through, so typing and pasting
cost nothing. A field that finds it lost focus before a key reached it hands
the key back (:meth:`reroute_key`); it is delivered before any later key.

After startup a key waits at most :data:`HOLD_LIMIT_S` for a screen to take
focus; after that it goes where Textual would have sent it.

Plain characters for a field that takes them in batches (the prompt) are
gathered while the app reads its queue and handed over as one
:class:`~offyai_tui.ui.widgets.common.ordered_keys.TypedText` at the end of that turn:
a thousand-character burst is one edit, not a thousand, and anything else
that arrives first hands over the gathered characters before itself.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

from textual import events

from offyai_tui.ui import term_input
from offyai_tui.ui.widgets.common.ordered_keys import (
    KeyApplied,
    OrderedKeys,
    TypedText,
    is_plain_character,
)

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.timer import Timer
    from textual.widget import Widget

HOLD_LIMIT_S = 3.0
POLL_S = 0.02
"""How often held keys look for a screen that became ready (only while keys wait)."""

InputEvent = events.Key | events.Paste


def screen_takes_keys(screen: Screen[Any]) -> bool:
    """Whether ``screen`` is ready for keys: mounted, and its focus settled.

    A screen may say so itself with a ``keys_ready`` attribute (the chat
    screen does: its prompt gets focus after its conversation is shown).
    """
    ready = getattr(screen, "keys_ready", None)
    if ready is not None:
        return bool(ready)
    if not screen.is_mounted:
        return False
    return screen.focused is not None or not screen.focus_chain


def fresh(event: InputEvent) -> InputEvent:
    """A new event with the same key or text (one already forwarded cannot be sent again)."""
    if isinstance(event, events.Paste):
        return events.Paste(event.text)
    return events.Key(event.key, event.character)


class KeyGate:
    """Mixin for the :class:`~textual.app.App` (first in its bases)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keys_open = False
        self._waiting: deque[InputEvent] = deque()
        self._rerouted: deque[InputEvent] = deque()
        self._in_flight: dict[Widget, int] = {}
        """Keys forwarded to an ordered text field and not yet applied by it."""
        self._command_at: Widget | None = None
        """The field applying a key that may move focus; later keys wait for it."""
        self._waiting_since: float | None = None
        self._key_poll: Timer | None = None
        self._flushing_keys = False
        self._typed: list[tuple[str, str]] = []
        self._typed_for: Widget | None = None
        term_input.install()

    # ------------------------------------------------------------ the protocol

    def open_keys(self) -> None:
        """The first screen's text field has focus: deliver what was typed so far."""
        if not self._keys_open:
            term_input.hand_back_mode(getattr(self, "_driver", None))
        self._keys_open = True
        self._schedule_key_flush()

    def reroute_key(self, event: InputEvent) -> None:
        """A field got a key after it lost focus: deliver it again, before later keys."""
        self._rerouted.append(fresh(event))
        self._schedule_key_flush()

    def key_done(self, widget: Widget) -> None:
        """``widget`` applied (or rerouted) one key it was given."""
        count = self._in_flight.get(widget, 0) - 1
        if count > 0:
            self._in_flight[widget] = count
            return
        self._in_flight.pop(widget, None)
        if self._waiting or self._rerouted:
            self._schedule_key_flush()

    def key_settled(self, widget: Widget) -> None:
        """What ``widget``'s last command key started has been handled up to the app."""
        if self._command_at is widget:
            self._command_at = None
            if self._waiting or self._rerouted:
                self._schedule_key_flush()

    def on_key_applied(self, message: KeyApplied) -> None:
        self.key_settled(message.field)

    def keys_pending(self, widget: Widget) -> int:
        """Keys given to ``widget`` that it has not applied yet (the rest of a burst)."""
        return self._in_flight.get(widget, 0)

    @property
    def keys_waiting(self) -> int:
        """How many keys wait for a screen or field to be ready."""
        return len(self._waiting) + len(self._rerouted)

    # ---------------------------------------------------------------- routing

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            if isinstance(event, events.Key) and self._gathers(event):
                if not self._typed:
                    app: Any = self
                    app.call_later(self._hand_over_typed)  # after the keys queued now
                self._typed.append((event.key, event.character or ""))
                self._typed_for = getattr(self, "focused", None)
                return
            self._hand_over_typed()
            if self._waiting or self._rerouted or not self._keys_can_go():
                self._hold_key(event)
            else:
                await self._deliver_key(event)
            return
        await super().on_event(event)  # type: ignore[misc]

    def _gathers(self, event: events.Key) -> bool:
        """Whether ``event`` joins the characters gathered for the focused field."""
        if self._waiting or self._rerouted:
            return False
        app: Any = self
        focused = app.focused
        if not getattr(focused, "TYPES_IN_BATCHES", False):
            return False
        if not is_plain_character(event) and event.key not in focused.GATHERED_KEYS:
            return False
        if self._typed:
            return focused is self._typed_for
        return self._keys_can_go()

    def _hand_over_typed(self) -> None:
        """Give the gathered characters to their field as one edit (before any later key)."""
        if not self._typed:
            return
        keys, self._typed = self._typed, []
        field, self._typed_for = self._typed_for, None
        if field is not None and field.is_attached:
            field.post_message(TypedText(keys))
            self._in_flight[field] = self._in_flight.get(field, 0) + 1
            return
        self._rerouted.extend(events.Key(key, character) for key, character in keys)
        self._schedule_key_flush()

    def _keys_can_go(self) -> bool:
        if not self._keys_open:
            return False
        app: Any = self
        command = self._command_at
        if command is not None:
            if command.is_attached:
                return self._waited_too_long()
            self._command_at = None  # removed with its dialog: nothing more will come
        focused = app.focused
        for widget in list(self._in_flight):
            if not widget.is_attached:  # removed: its queue is gone
                self._in_flight.pop(widget, None)
            elif widget is not focused:  # its keys may come back (reroute_key)
                return self._waited_too_long()
        if not screen_takes_keys(app.screen):
            return self._waited_too_long()
        return True

    def _waited_too_long(self) -> bool:
        since = self._waiting_since
        if since is None or time.monotonic() - since < HOLD_LIMIT_S:
            return False
        self._in_flight.clear()
        self._command_at = None
        return True

    async def _deliver_key(self, event: InputEvent) -> None:
        """Give the key to Textual (priority bindings, then the focused widget)."""
        app: Any = self
        await super().on_event(event)  # type: ignore[misc]
        if not event.is_forwarded:
            return  # a priority binding took it, here and now
        target = app.focused or app.screen
        command = isinstance(event, events.Key) and (
            not is_plain_character(event) or getattr(target, "LETTERS_ARE_KEYS", False))
        if isinstance(target, OrderedKeys):
            self._in_flight[target] = self._in_flight.get(target, 0) + 1
            if command:
                self._command_at = target  # the field says when it settled
        elif command:
            # Another widget (a list, Textual's own palette; one that says
            # ``LETTERS_ARE_KEYS`` also for its bound letters): its bound keys travel
            # up to the app before their action runs. A marker sent behind the key
            # takes the same way; later keys wait for it (Esc closing the palette
            # then Ctrl+F: the Ctrl+F is not lost in the closing palette).
            self._command_at = target
            target.post_message(KeyApplied(target))

    def _hold_key(self, event: InputEvent) -> None:
        self._waiting.append(event)
        self._start_key_poll()

    def _schedule_key_flush(self) -> None:
        app: Any = self
        app.call_later(self._flush_keys)

    async def _flush_keys(self) -> None:
        if self._flushing_keys:
            return
        self._hand_over_typed()
        self._flushing_keys = True
        try:
            while self._rerouted or self._waiting:
                if not self._keys_can_go():
                    self._start_key_poll()
                    return
                queue = self._rerouted or self._waiting
                await self._deliver_key(fresh(queue.popleft()))
                self._waiting_since = time.monotonic()  # progress: the next key's wait starts
            self._waiting_since = None
            if self._key_poll is not None:
                self._key_poll.stop()
                self._key_poll = None
        finally:
            self._flushing_keys = False

    def _start_key_poll(self) -> None:
        """Look again every few milliseconds while keys wait (a screen gets ready)."""
        if self._waiting_since is None:
            self._waiting_since = time.monotonic()
        if self._key_poll is None:
            app: Any = self
            self._key_poll = app.set_interval(POLL_S, self._flush_keys, name="key gate")
