"""A microphone behind ALSA's real libasound: its ``file`` plugin capturing from a FIFO.

ALSA's ``file`` PCM plugin reads capture data from ``infile`` in place of its slave's
(here the ``null`` PCM, which delivers at once). Pointed at a named pipe fed from a
thread, the ``default`` device hears a speech fixture, paced like a real microphone and
then silence, until the reader closes it. The config is the whole of ALSA's
configuration for the process that gets ``env`` (``ALSA_CONFIG_PATH``), so the test is
the same on machines with and without sound cards.

The plugin copies whatever one ``read()`` of the pipe returns and reports a full block
even when the read was short, so the fixture is written in blocks of exactly the size
the recorder reads (:data:`alsa.BLOCK_FRAMES`, under ``PIPE_BUF``: each write arrives
whole); a ragged feed would shuffle the samples.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.voice import alsa, audio

CONFIG = """pcm.!default {{
    type file
    slave.pcm {{ type null }}
    file "/dev/null"
    infile "{infile}"
    format "raw"
}}
"""


def without_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    """ALSA is the fallback: make sounddevice missing even where it is installed (and
    skip where libasound itself is missing); no SSH or CI variables change the lines."""
    try:
        alsa.library()
    except alsa.AlsaMissing:
        pytest.skip("no libasound.so.2 on this machine")
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "CI"):
        monkeypatch.delenv(name, raising=False)


class AlsaMicrophone:
    """``with AlsaMicrophone(tmp, fixture) as mic:`` then record with ``mic.env`` set."""

    def __init__(self, folder: Path, fixture: Path, speed: float = 1.0) -> None:
        floats = audio.load(fixture)  # 16 kHz mono, as the device is opened
        self.samples = np.round(floats * 32768).clip(-32768, 32767).astype(np.int16)
        self.speed = speed
        self.fifo = folder / "microphone.fifo"
        os.mkfifo(self.fifo)
        self.config = folder / "asound.conf"
        self.config.write_text(CONFIG.format(infile=self.fifo))
        self.env = {"ALSA_CONFIG_PATH": str(self.config)}
        self.played = threading.Event()
        """Set once the whole fixture was written into the pipe (in the current opening)."""
        self.openings = 0
        self.closed = threading.Event()
        """Set when the reader closed the device (a write found no reader)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alsa-mic", daemon=True)

    def __enter__(self) -> AlsaMicrophone:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        """Each time the device is opened: the fixture, then silence until it is closed."""
        while not self._stop.is_set():
            fd = self._open()
            if fd is None:
                return
            self.openings += 1
            try:
                self._play(fd)
            except BrokenPipeError:  # the reader closed the device
                self.closed.set()
            finally:
                os.close(fd)

    def _open(self) -> int | None:
        """The pipe's write end once a reader opened it (polled, so a stop is heard)."""
        while not self._stop.is_set():
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as err:
                if err.errno != errno.ENXIO:  # ENXIO: no reader yet
                    raise
                time.sleep(0.01)
                continue
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
            return fd
        return None

    def _play(self, fd: int) -> None:
        self.played.clear()
        block = alsa.BLOCK_FRAMES
        pause = block / alsa.RATE / self.speed
        padded = np.zeros(-(-len(self.samples) // block) * block, np.int16)
        padded[: len(self.samples)] = self.samples
        for start in range(0, len(padded), block):
            os.write(fd, padded[start : start + block].tobytes())
            time.sleep(pause)
        self.played.set()
        silence = np.zeros(block, np.int16).tobytes()
        while not self._stop.is_set():
            os.write(fd, silence)
            time.sleep(block / alsa.RATE)
