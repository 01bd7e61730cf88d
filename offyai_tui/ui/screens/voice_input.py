"""Push to talk: record a prompt, show the level and the time, put the words in the prompt.

Terminals report key presses, not releases, so the key (Alt+V) toggles: it opens this dialog
and starts recording; Enter (or the key again) stops and transcribes; Esc cancels at
any point, while recording or transcribing. The transcription is inserted into the
prompt for review, never sent. The recording lives in memory only and is dropped when
the dialog closes. With no microphone the key is one line (a notification) and no
dialog.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Static, TextArea
from textual.worker import get_current_worker

from offyai_tui.ui.bindings import bindings
from offyai_tui.ui.host import offy
from offyai_tui.ui.screens.dialogs import DIALOG_CSS
from offyai_tui.voice.errors import VoiceError

METER_WIDTH = 40


class VoiceInputScreen(ModalScreen[str | None]):
    """Records until Enter, then transcribes; dismisses with the text, or ``None``."""

    DEFAULT_CSS = DIALOG_CSS.format(name="VoiceInputScreen") + """
    VoiceInputScreen #voice-meter { color: $success; }
    VoiceInputScreen #voice-hint { color: $text-muted; margin: 1 0 0 0; }
    """
    BINDINGS = bindings("voice_input")

    def __init__(self, opener: Any = None, whisper_model: str = "", device: str = "auto") -> None:
        """``device`` is ``voice.input`` (PortAudio, ALSA or auto), for the default opener."""
        super().__init__()
        self._whisper_model = whisper_model
        from offyai_tui.voice import recorder

        self.recorder = recorder.Recorder(
            opener or functools.partial(recorder.open_microphone, choice=device)
        )
        self._cancelled = threading.Event()
        self.transcribing = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("● Recording  0:00.0", id="voice-state")
            yield Static(meter(0.0), id="voice-meter")
            yield Static("Enter: done · Esc: cancel", id="voice-hint")

    def start(self) -> None:
        """Open the microphone (before the dialog shows: no microphone, no dialog).

        Raises:
            VoiceError: there is no microphone (the message says why).
        """
        self.recorder.start()

    def on_mount(self) -> None:
        self.set_interval(0.1, self._tick)

    def _tick(self) -> None:
        if not self.recorder.recording:
            return
        self.query_one("#voice-state", Static).update(
            f"● Recording  {clock(self.recorder.elapsed)}"
        )
        self.query_one("#voice-meter", Static).update(meter(self.recorder.level))

    def action_finish(self) -> None:
        if self.transcribing or not self.recorder.recording:
            return
        take = self.recorder.stop()
        self.transcribing = True
        self.query_one("#voice-state", Static).update(
            f"Transcribing {clock(self.recorder.elapsed)} of speech…"
        )
        self.query_one("#voice-meter", Static).update("")
        self._transcribe(take)

    def action_cancel(self) -> None:
        self._cancelled.set()
        self.recorder.cancel()
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="voice")
    def _transcribe(self, take: Any) -> None:
        from offyai_tui.voice import whisper_model, worker

        current = get_current_worker()
        try:
            named = Path(self._whisper_model).expanduser() if self._whisper_model else None
            result = worker.transcribe(
                take, whisper_model.find(explicit=named),
                should_stop=lambda: self._cancelled.is_set() or current.is_cancelled,
            )  # fmt: skip
        except VoiceError as err:
            self.app.call_from_thread(self._failed, str(err))
            return
        finally:
            self.recorder.discard()
        if result is not None and not self._cancelled.is_set():
            self.app.call_from_thread(self.dismiss, result.text)

    def _failed(self, line: str) -> None:
        self.app.notify(line, severity="warning", markup=False)
        self.dismiss(None)


def speak_into(screen: Screen[Any], prompt: TextArea, opener: Any = None) -> None:
    """Open the dialog over ``screen``; what was said is inserted at ``prompt``'s cursor.

    No microphone: one warning line instead (over SSH it says where the microphone is).
    With ``voice.send_at_once`` the prompt is sent as soon as the words are in.
    """
    settings = offy(screen.app).settings.voice
    dialog = VoiceInputScreen(opener, settings.whisper_model, settings.input)
    try:
        dialog.start()
    except VoiceError as err:
        screen.app.notify(str(err), severity="warning", markup=False)
        return

    def done(text: str | None) -> None:
        if text and text.strip():
            before = prompt.get_text_range((0, 0), prompt.cursor_location)
            spacer = " " if before and not before[-1].isspace() else ""
            prompt.insert(spacer + text.strip())
            if settings.send_at_once:
                prompt.action_submit()
        elif text is not None:
            screen.app.notify("nothing was heard", markup=False)
        prompt.focus()

    screen.app.push_screen(dialog, done)


def clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def meter(level: float) -> str:
    filled = round(max(0.0, min(1.0, level)) * METER_WIDTH)
    return "█" * filled + "░" * (METER_WIDTH - filled)
