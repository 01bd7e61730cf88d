"""Speakers behind ALSA's real libasound: its ``file`` plugin writing what is played.

ALSA's ``file`` PCM plugin copies every sample written to the device into ``file``
before handing it to its slave (here the ``null`` PCM, which takes everything at once).
The config is the whole of ALSA's configuration for the process that gets ``env``
(``ALSA_CONFIG_PATH``), so the test is the same on machines with and without sound cards.

Played into a plain file, a sentence is written as fast as the program writes it. To
hear a stop in the middle of a sentence, the file is a named pipe drained by a thread
at the voice's pace, like a sound card: the program's writes then wait for room, as
they do on real speakers, and what the thread read is what was heard.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import numpy as np

CONFIG = """pcm.!default {{
    type file
    slave.pcm {{ type null }}
    file "{out}"
    format "raw"
}}
"""


def speakers_config(folder: Path, out: Path) -> Path:
    """An ALSA configuration whose ``default`` device plays into ``out`` (16-bit raw)."""
    config = folder / "asound.conf"
    config.write_text(CONFIG.format(out=out))
    return config


class PacedSpeakers:
    """``with PacedSpeakers(tmp, rate) as speakers:`` then play with ``speakers.env`` set."""

    def __init__(self, folder: Path, rate: int) -> None:
        self.rate = rate
        self.fifo = folder / "speakers.fifo"
        os.mkfifo(self.fifo)
        self.config = speakers_config(folder, self.fifo)
        self.env = {"ALSA_CONFIG_PATH": str(self.config)}
        self.heard = bytearray()
        self.started = threading.Event()
        """Set once the first samples arrived."""
        self.closed = threading.Event()
        """Set when the player closed the device (the pipe's end of file)."""
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="alsa-speakers", daemon=True)

    def __enter__(self) -> PacedSpeakers:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop = True
        if not self.closed.is_set():  # nobody played: open the write end to end the wait
            with contextlib.suppress(OSError):  # the thread is not waiting yet, or is gone
                os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))
        self._thread.join(timeout=5)

    @property
    def samples(self) -> np.ndarray:
        """What was heard so far, as 16-bit samples."""
        return np.frombuffer(bytes(self.heard[: len(self.heard) // 2 * 2]), "<i2")

    def _run(self) -> None:
        fd = os.open(self.fifo, os.O_RDONLY)  # waits for the player to open the device
        chunk = self.rate * 2 // 50  # 20 ms of 16-bit mono
        try:
            while not self._stop:
                data = os.read(fd, chunk)
                if not data:
                    break
                self.heard += data
                self.started.set()
                time.sleep(len(data) / (self.rate * 2))
        finally:
            os.close(fd)
            self.closed.set()
