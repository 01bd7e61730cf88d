"""Reading text aloud: speech made in memory, played on the default output device.

Nothing is written to disk: piper's chunks and espeak-ng's standard output are kept as
samples. Text can be fed as it streams (:class:`SentenceFeeder` hands over each
sentence once it ends), so an answer is read sentence by sentence while it is being
written. Sound goes out through PortAudio (sounddevice) where it loads, else through
ALSA's libasound (:func:`offyai_tui.voice.alsa.play`), or the one ``voice.output``
names. The player is handed in, so tests use a fake speaker; with no output device
(over SSH, in CI, neither library) the line says so.
"""

from __future__ import annotations

import functools
import re
import struct
import subprocess
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from offyai_tui.voice import devices
from offyai_tui.voice.errors import NoOutputDevice, VoiceError
from offyai_tui.voice.speech import PIPER, Speaker, find_speaker

if TYPE_CHECKING:
    import numpy as np

Play = Callable[["np.ndarray", int, threading.Event], None]
"""Plays samples at a rate until done or until the event is set."""

_SENTENCE_END = re.compile(r"(?<=[.!?:;])[\"')\]]*\s+|\n{2,}")


def samples_for(text: str, speaker: Speaker | None = None) -> tuple[np.ndarray, int]:
    """``text`` spoken, as mono float32 samples and their rate, made in memory.

    Raises:
        SpeechUnavailable: no engine can speak (the line says what to install).
        VoiceError: the text is empty or the engine failed.
    """
    import numpy as np

    if not text.strip():
        raise VoiceError("nothing to say: the text is empty")
    speaker = speaker or find_speaker()
    if speaker.engine == PIPER:
        from offyai_tui.voice.speech import load_piper

        voice = load_piper(speaker.path)
        chunks = list(voice.synthesize(text))
        if not chunks:
            return np.zeros(0, np.float32), 22050
        audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
        return audio, int(chunks[0].sample_rate)
    done = subprocess.run(
        [str(speaker.path), "--stdout", "--stdin"], input=text.encode("utf-8"),
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0 or len(done.stdout) < 44:
        raise VoiceError(f"espeak-ng failed (exit status {done.returncode})")
    (rate,) = struct.unpack_from("<I", done.stdout, 24)  # the sizes in its header are not set
    body = done.stdout[44 : 44 + (len(done.stdout) - 44) // 2 * 2]
    return np.frombuffer(body, "<i2").astype(np.float32) / 32768, int(rate)


def play_on_speakers(
    samples: np.ndarray, rate: int, stop: threading.Event, choice: str = "auto"
) -> None:
    """Play on the default output device until done or ``stop`` is set.

    ``choice`` is ``voice.output``: PortAudio where it loads, else ALSA (``auto``), or
    one of them only.

    Raises:
        NoOutputDevice: nothing can play sound here (the line says why).
    """
    if devices.backend(choice, output=True) == "alsa":
        from offyai_tui.voice import alsa

        alsa.play(samples, rate, stop)
        return
    import sounddevice

    try:
        sounddevice.play(samples, rate)
    except (sounddevice.PortAudioError, ValueError):
        where = devices.where(speakers=True)
        raise NoOutputDevice(f"no speakers: no output device found{where}") from None
    try:
        length = len(samples) / rate
        waited = 0.0
        while waited < length + 0.2 and not stop.wait(0.05):
            waited += 0.05
    finally:
        sounddevice.stop()


def speakers(choice: str = "auto") -> Play:
    """:func:`play_on_speakers` through what ``voice.output`` asks for."""
    return functools.partial(play_on_speakers, choice=choice)


class Reader:
    """Reads texts aloud one after another on a thread; :meth:`stop` silences it at once."""

    def __init__(self, speaker: Speaker | None = None, play: Play = play_on_speakers) -> None:
        self._speaker = speaker
        self._play = play
        self._stop = threading.Event()
        self._queue: list[str] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.error: VoiceError | None = None
        """What stopped the reading, if it failed (no engine, no speakers)."""

    @property
    def reading(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def say(self, text: str) -> None:
        """Queue ``text``; reading starts at once if it was idle (not after a failure)."""
        if not text.strip() or self.error is not None:
            return
        with self._lock:
            self._queue.append(text)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Drop what is queued and stop the sentence being played."""
        with self._lock:
            self._queue.clear()
        self._stop.set()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            speaker = self._speaker or find_speaker()
            while not self._stop.is_set():
                with self._lock:
                    if not self._queue:
                        return
                    text = self._queue.pop(0)
                samples, rate = samples_for(text, speaker)
                if not self._stop.is_set():
                    self._play(samples, rate, self._stop)
        except VoiceError as err:
            self.error = err


class SentenceFeeder:
    """Turns streamed text into whole sentences for a :class:`Reader`."""

    def __init__(self, out: Callable[[str], Any]) -> None:
        self._out = out
        self._pending = ""

    def feed(self, delta: str) -> None:
        self._pending += delta
        parts = _SENTENCE_END.split(self._pending)
        for sentence in parts[:-1]:
            if sentence.strip():
                self._out(sentence.strip())
        self._pending = parts[-1]

    def finish(self) -> None:
        """The stream ended: what is left is the last sentence."""
        if self._pending.strip():
            self._out(self._pending.strip())
        self._pending = ""
