"""Recording from the microphone into memory, with a level and the elapsed time for a UI.

Blocks arrive on PortAudio's (or the ALSA reader's) thread and are only appended there; the UI polls
:attr:`Recorder.level` and :attr:`Recorder.elapsed`. The take stays in memory and is
written only by :meth:`Recorder.save`, so a recording exists on disk only when the
user saved it. The stream is opened through an opener, so tests and the TUI flow can
feed a fake input device.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from offyai_tui.voice import audio, devices
from offyai_tui.voice.errors import NoInputDevice, VoiceError

if TYPE_CHECKING:
    import numpy as np

MAX_SECONDS = 600.0
"""Blocks past this are dropped: a forgotten recording cannot fill the memory."""

BlockSink = Callable[["np.ndarray"], None]
"""Receives one block of float32 samples (frames x channels)."""


class InputStream(Protocol):
    """What the recorder needs of a stream: sounddevice's ``InputStream`` has it."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


StreamOpener = Callable[[BlockSink], tuple[InputStream, int]]
"""Opens a stream feeding a sink; returns it and its sample rate."""


def open_microphone(sink: BlockSink, choice: str = "auto") -> tuple[InputStream, int]:
    """The default input device as a mono float32 stream at its native rate.

    PortAudio's (through sounddevice) where it is installed, else ALSA's ``default``
    (opened once, here: a probe first would open the device twice); ``choice``
    (``voice.input``) can insist on one of them.

    Raises:
        NoInputDevice: there is no microphone (the message says why).
    """
    if devices.backend(choice) == "alsa":
        from offyai_tui.voice import alsa

        return alsa.AlsaStream(sink), alsa.RATE
    device = devices.default_input(choice)
    import sounddevice

    def callback(indata: Any, _frames: int, _time: Any, _status: Any) -> None:
        sink(indata)

    try:
        stream = sounddevice.InputStream(
            samplerate=device.rate, channels=1, dtype="float32", callback=callback,
            device=device.index if device.index >= 0 else None,
        )  # fmt: skip
    except (sounddevice.PortAudioError, ValueError) as err:
        raise NoInputDevice(f"the microphone {device.name} did not open: {err}") from None
    return stream, device.rate


class Recorder:
    """One take at a time: :meth:`start`, then :meth:`stop` (keep) or :meth:`cancel`."""

    def __init__(
        self, opener: StreamOpener = open_microphone, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._opener = opener
        self._clock = clock
        self._lock = threading.Lock()
        self._blocks: list[np.ndarray] = []
        self._frames = 0
        self._rate = audio.SAMPLE_RATE
        self._level = 0.0
        self._started: float | None = None
        self._stopped_after = 0.0
        self._stream: InputStream | None = None
        self.take: np.ndarray | None = None
        """The last take, 16 kHz mono, in memory only."""

    @property
    def recording(self) -> bool:
        return self._stream is not None

    @property
    def level(self) -> float:
        """Loudness of the latest block, 0 to 1 (see :func:`audio.level`)."""
        return self._level if self.recording else 0.0

    @property
    def elapsed(self) -> float:
        """Seconds recorded so far (of the last take once stopped)."""
        if self._started is None:
            return self._stopped_after
        return self._clock() - self._started

    def start(self) -> None:
        """Open the input and start collecting; any earlier take is dropped.

        Raises:
            NoInputDevice: there is no microphone.
            VoiceError: a take is already being recorded.
        """
        if self.recording:
            raise VoiceError("already recording")
        self.discard()
        stream, self._rate = self._opener(self._on_block)
        self._stream = stream
        self._started = self._clock()
        stream.start()

    def stop(self) -> np.ndarray:
        """Stop and return the take as 16 kHz mono float32 (kept in :attr:`take`)."""
        import numpy as np

        self._close()
        with self._lock:
            blocks, self._blocks = self._blocks, []
        raw = np.concatenate(blocks) if blocks else np.zeros((0, 1), np.float32)
        self.take = audio.to_whisper(raw, self._rate)
        return self.take

    def cancel(self) -> None:
        """Stop and forget everything recorded."""
        self._close()
        self.discard()

    def discard(self) -> None:
        """Forget the last take."""
        with self._lock:
            self._blocks, self._frames = [], 0
        self.take = None
        self._stopped_after = 0.0

    def save(self, path: Path) -> Path:
        """Write the last take to ``path`` as WAV: the only way a recording reaches the disk.

        Raises:
            VoiceError: there is no take.
        """
        if self.take is None or self.take.size == 0:
            raise VoiceError("there is no recording to save")
        return audio.write_wav(path, self.take)

    def _on_block(self, block: np.ndarray) -> None:
        """The stream's thread: keep a copy (the buffer is reused) and measure it."""
        if self._frames >= MAX_SECONDS * self._rate:
            return
        with self._lock:
            self._blocks.append(block.copy())
            self._frames += len(block)
        self._level = audio.level(block)

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if self._started is not None:
            self._stopped_after = self._clock() - self._started
            self._started = None
        self._level = 0.0
        if stream is not None:
            try:
                stream.stop()
            finally:
                stream.close()
