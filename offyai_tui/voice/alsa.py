"""Recording and playing through ALSA's libasound directly, for Linux without PortAudio.

PortAudio's Linux backend is ALSA, and PulseAudio and PipeWire desktops route ALSA's
``default`` device to their own default source and sink, so where ``libportaudio2`` is
missing (minimal installs, containers) libasound.so.2 is usually still there and reaches
the same microphone and speakers. It is reached through :mod:`ctypes`, so nothing needs
compiling.

For capture the ``default`` PCM is opened as 16-bit mono 16 kHz, ALSA converting from
what the device has; blocks are read on a thread and handed to the recorder's sink as
float32 (frames x 1), like sounddevice's callback. For playback it is opened as 16-bit
mono at the voice's rate and written in short blocks by :func:`play`, so a stop is heard
within one block and ``snd_pcm_drop`` throws away what ALSA still holds. Errors are one
line built from ``snd_strerror``; ALSA's own messages are silenced, because its stderr is
the terminal the TUI draws on.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from offyai_tui.voice.errors import NoInputDevice, NoOutputDevice, VoiceError

if TYPE_CHECKING:
    import numpy as np

DEVICE = "default"
"""ALSA's default PCM: the desktop's sound server, or what ``~/.asoundrc`` names."""
RATE = 16000
"""What whisper wants; ALSA's plug layer (or the sound server) resamples to it."""
BLOCK_FRAMES = 800
"""Frames per read: 50 ms, often enough for a lively level meter."""
LATENCY_US = 100_000
"""The buffer ALSA keeps: 100 ms rides out a busy machine without overruns."""
PLAY_LATENCY_US = 200_000
"""The playback buffer: longer, as an underrun is heard; a stop drops it, so it adds no delay."""
PLAY_BLOCK_SECONDS = 0.05
"""Samples per write: a write waits at most this long for room, then the stop is checked."""

_PLAYBACK = 0  # SND_PCM_STREAM_PLAYBACK
_CAPTURE = 1  # SND_PCM_STREAM_CAPTURE
_DRAINING = 5  # SND_PCM_STATE_DRAINING
_EAGAIN = 11
_S16_LE = 2  # SND_PCM_FORMAT_S16_LE
_RW_INTERLEAVED = 3  # SND_PCM_ACCESS_RW_INTERLEAVED
_NONBLOCK = 1  # SND_PCM_NONBLOCK: opening a busy device fails at once instead of waiting

_lib: ctypes.CDLL | None = None
_ErrorHandler = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)
_quiet = _ErrorHandler(lambda *_args: None)
"""ALSA's error handler, doing nothing; kept here so it is never garbage collected."""

LIBRARY = "libasound.so.2"


class AlsaMissing(VoiceError):
    """libasound.so.2 is not installed (or this is not Linux); the line names the library."""


def library() -> ctypes.CDLL:
    """libasound, loaded once, with its argument types declared and its messages silenced.

    Raises:
        AlsaMissing: the library is not installed (or this is not Linux).
    """
    global _lib
    if _lib is not None:
        return _lib
    try:
        lib = ctypes.CDLL(LIBRARY)
    except OSError:
        raise AlsaMissing(f"{LIBRARY} (ALSA) is not installed") from None
    lib.snd_strerror.restype = ctypes.c_char_p
    lib.snd_strerror.argtypes = [ctypes.c_int]
    lib.snd_pcm_open.argtypes = [
        ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
    ]  # fmt: skip
    lib.snd_pcm_set_params.argtypes = [
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
        ctypes.c_int, ctypes.c_uint,
    ]  # fmt: skip
    lib.snd_pcm_readi.restype = ctypes.c_long
    lib.snd_pcm_readi.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong]
    lib.snd_pcm_writei.restype = ctypes.c_long
    lib.snd_pcm_writei.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong]
    for name in ("snd_pcm_drop", "snd_pcm_drain", "snd_pcm_state"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.snd_pcm_recover.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.snd_pcm_nonblock.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.snd_pcm_close.argtypes = [ctypes.c_void_p]
    lib.snd_lib_error_set_handler.argtypes = [_ErrorHandler]
    lib.snd_lib_error_set_handler(_quiet)
    _lib = lib
    return lib


def strerror(code: int) -> str:
    """ALSA's words for an error code (``Device or resource busy``)."""
    text = library().snd_strerror(code)
    return text.decode(errors="replace") if text else f"error {code}"


def open_pcm(device: str = DEVICE, *, playback: bool = False, rate: int = RATE) -> ctypes.c_void_p:
    """``device`` opened for capture (or ``playback``), 16-bit mono at ``rate``, blocking.

    It is opened non-blocking, so a device another program holds is an error now
    rather than a wait in the UI's thread, then switched to blocking reads or writes.

    Raises:
        NoInputDevice: (capture) no such device, it is busy, or it cannot record that way.
        NoOutputDevice: (playback) the same for playing.
    """
    from offyai_tui.voice.devices import where

    lib = library()
    error, noun, doing, do = (
        (NoOutputDevice, "speakers", "playing", "play") if playback
        else (NoInputDevice, "microphone", "recording", "record")
    )  # fmt: skip
    pcm = ctypes.c_void_p()
    stream = _PLAYBACK if playback else _CAPTURE
    code = lib.snd_pcm_open(ctypes.byref(pcm), device.encode(), stream, _NONBLOCK)
    if code < 0:
        raise error(
            f"no {noun}: ALSA could not open {device!r} for {doing}: "
            f"{strerror(code)}{where(speakers=playback)}"
        )
    latency = PLAY_LATENCY_US if playback else LATENCY_US
    code = lib.snd_pcm_set_params(pcm, _S16_LE, _RW_INTERLEAVED, 1, rate, 1, latency)
    if code >= 0:
        code = lib.snd_pcm_nonblock(pcm, 0)
    if code < 0:
        lib.snd_pcm_close(pcm)
        raise error(
            f"no {noun}: ALSA's {device!r} cannot {do} {rate} Hz mono: {strerror(code)}"
        )
    return pcm


def probe(device: str = DEVICE, *, playback: bool = False) -> str:
    """Open and close ``device`` to learn it records (or plays); its name for display.

    Raises:
        NoInputDevice: it does not record (NoOutputDevice: play); the message says why.
    """
    pcm = open_pcm(device, playback=playback)
    library().snd_pcm_close(pcm)
    return f"ALSA {device}"


class AlsaStream:
    """A capture stream with the recorder's interface (start, stop, close).

    Once started, the reading thread owns the handle and closes it when it ends, so a
    read still waiting on the device is never cut off by a close from another thread.
    """

    def __init__(self, sink: Callable[[np.ndarray], None], device: str = DEVICE) -> None:
        self._sink = sink
        self._pcm: ctypes.c_void_p | None = open_pcm(device)
        self._running = threading.Event()
        self._thread: threading.Thread | None = None
        self.error = ""
        """Why reading ended early (one line), or ''."""

    def start(self) -> None:
        self._running.set()
        self._thread = threading.Thread(target=self._read, name="alsa-capture", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading (within a block's time); a block read after this is dropped."""
        self._running.clear()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def close(self) -> None:
        if self._thread is None:
            self._release()

    def _release(self) -> None:
        pcm, self._pcm = self._pcm, None
        if pcm is not None:
            library().snd_pcm_close(pcm)

    def _read(self) -> None:
        import numpy as np

        lib = library()
        buffer = np.zeros(BLOCK_FRAMES, np.int16)
        address = buffer.ctypes.data_as(ctypes.c_void_p)
        try:
            while self._running.is_set():
                frames = lib.snd_pcm_readi(self._pcm, address, BLOCK_FRAMES)
                if frames < 0:  # an overrun (the machine was busy) or a suspend: resume
                    code = lib.snd_pcm_recover(self._pcm, int(frames), 1)
                    if code < 0:
                        self.error = f"recording stopped: {strerror(code)}"
                        return
                    continue
                if frames > 0 and self._running.is_set():
                    block = buffer[:frames].astype(np.float32) / 32768.0
                    self._sink(block.reshape(-1, 1))
        finally:
            self._release()


def play(samples: np.ndarray, rate: int, stop: threading.Event, device: str = DEVICE) -> None:
    """Play mono float32 ``samples`` on ``device`` until done, or until ``stop`` is set.

    Runs on the caller's thread (the reader's, never the UI's). Each write is at most
    :data:`PLAY_BLOCK_SECONDS` long, so a stop is seen within one block; then
    ``snd_pcm_drop`` discards what ALSA still holds, and nothing more is heard. At the
    end the stream is drained without blocking, so a stop during the last buffer is
    heard too.

    Raises:
        NoOutputDevice: the device did not open, or writing to it failed (one line).
    """
    import numpy as np

    lib = library()
    pcm = open_pcm(device, playback=True, rate=rate)
    data = np.clip(np.round(np.asarray(samples, np.float32) * 32768), -32768, 32767)
    pcm16 = np.ascontiguousarray(data.astype(np.int16).reshape(-1))
    block = max(1, int(rate * PLAY_BLOCK_SECONDS))
    try:
        done = 0
        while done < len(pcm16) and not stop.is_set():
            part = pcm16[done : done + block]
            frames = lib.snd_pcm_writei(pcm, part.ctypes.data_as(ctypes.c_void_p), len(part))
            if frames < 0:  # an underrun (the machine was busy) or a suspend: resume
                code = lib.snd_pcm_recover(pcm, int(frames), 1)
                if code < 0:
                    raise NoOutputDevice(f"playing stopped: {strerror(code)}")
                continue
            done += frames
        if not stop.is_set():
            _drain(lib, pcm, stop)
    finally:
        if stop.is_set():
            lib.snd_pcm_drop(pcm)
        lib.snd_pcm_close(pcm)


def _drain(lib: ctypes.CDLL, pcm: ctypes.c_void_p, stop: threading.Event) -> None:
    """Let the buffered end play out, watching ``stop`` (a blocking drain would not).

    Everything was handed to ALSA by now, so a drain that fails (an underrun in the last
    buffer) is the end of the sentence, not an error; a device that stops consuming is
    waited for no longer than its buffer takes to play, twice over.
    """
    lib.snd_pcm_nonblock(pcm, 1)
    if lib.snd_pcm_drain(pcm) != -_EAGAIN:
        return
    deadline = time.monotonic() + 2 * PLAY_LATENCY_US / 1e6 + 0.5
    while lib.snd_pcm_state(pcm) == _DRAINING and time.monotonic() < deadline:
        if stop.wait(0.01):
            return
