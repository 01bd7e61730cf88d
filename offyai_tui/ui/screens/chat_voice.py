"""The chat screen's voice keys: push to talk into the prompt, and reading answers aloud.

Reading aloud takes the selected answer (in the message list) or the last one, reads it
sentence by sentence on a thread (:class:`offyai_tui.voice.playback.Reader`), and Esc
stops it. With ``voice.read_answers`` every answer is read as it streams, each sentence
once it ends. What cannot work here (no speech engine, no speakers) is one warning line.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from offyai_tui.ui.host import offy
from offyai_tui.voice.errors import VoiceError

if TYPE_CHECKING:
    from offyai_tui.ui.screens.chat import ChatScreen


class ChatVoice:
    """Held by the chat screen as ``screen.voice``."""

    def __init__(self, screen: ChatScreen, play: Any = None) -> None:
        self.screen = screen
        self.play = play
        """How sound is played (default: the speakers); tests hand in a fake."""
        self.reader: Any = None
        self._feeder: Any = None
        """The sentence feeder of the answer being read as it streams."""

    def push_to_talk(self) -> None:
        from offyai_tui.ui.screens.voice_input import speak_into

        speak_into(self.screen, self.screen.prompt)

    def read_aloud(self, message_id: str | None) -> None:
        """Read the message ``message_id`` (or the last answer); again while reading: stop."""
        if self.stop_reading():
            return
        text = self._text(message_id)
        if not text:
            self.screen.notify("No answer to read yet.", timeout=3)
            return
        from offyai_tui.voice import playback
        from offyai_tui.voice.speakable import speakable

        reader = playback.Reader(play=self._player())
        feeder = playback.SentenceFeeder(reader.say)
        feeder.feed(speakable(text))
        feeder.finish()
        self._start(reader)

    def answer_text(self, text: str) -> None:
        """Part of a streaming answer: read each sentence once it ends (``voice.read_answers``)."""
        if self._feeder is None:
            if not offy(self.screen.app).settings.voice.read_answers:
                return
            from offyai_tui.voice import playback

            self.stop_reading()
            self._start(playback.Reader(play=self._player()))
            self._feeder = playback.SentenceFeeder(self._say)
        self._feeder.feed(text)

    def answer_ended(self) -> None:
        """The streaming answer is complete: read what is left of it."""
        feeder, self._feeder = self._feeder, None
        if feeder is not None:
            feeder.finish()

    def stop_reading(self) -> bool:
        """Stop reading aloud; whether something was being read."""
        reader, self.reader = self.reader, None
        self._feeder = None
        if reader is None or not reader.reading:
            return False
        reader.stop()
        return True

    def _player(self) -> Any:
        """The fake handed in, else the speakers ``voice.output`` chooses."""
        from offyai_tui.voice import playback

        return self.play or playback.speakers(offy(self.screen.app).settings.voice.output)

    def _start(self, reader: Any) -> None:
        self.reader = reader
        self.screen.run_worker(self._watch, thread=True, group="read-aloud", exclusive=True)

    def _say(self, sentence: str) -> None:
        from offyai_tui.voice.speakable import speakable

        if self.reader is not None and (words := speakable(sentence)):
            self.reader.say(words)

    def _watch(self) -> None:
        """A worker thread: wait for the reading to end and report why it failed, if it did."""
        from textual.worker import get_current_worker

        worker = get_current_worker()
        reader = self.reader
        if reader is None:
            return
        # Between two sentences of a streaming answer the reader is idle, not done.
        while reader.error is None and (
            reader.reading or (self.reader is reader and self._feeder is not None)
        ):
            if worker.is_cancelled:  # the app is closing
                reader.stop()
                return
            time.sleep(0.1)
        error: VoiceError | None = reader.error
        if error is not None:
            self.screen.app.call_from_thread(
                self.screen.notify, str(error), severity="warning", markup=False
            )

    def _text(self, message_id: str | None) -> str:
        messages = self.screen.conversation.messages
        if message_id is not None:
            for message in messages:
                if message.id == message_id and message.content.strip():
                    return message.content
        for message in reversed(messages):
            if message.role == "assistant" and message.content.strip():
                return message.content
        return ""
