"""A fake input device: plays a sound file into the recorder as PortAudio would.

Blocks of ``block`` frames (frames x 1, float32, at the file's own rate) are handed to
the sink from a thread, paced at ``speed`` times real time, with the buffer reused
between calls as PortAudio does, so a recorder that keeps a reference instead of a
copy is caught.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import soundfile

from offyai_tui.voice.recorder import BlockSink


class FakeMicrophone:
    """An opener for :class:`Recorder`; ``opened`` counts the streams it gave out."""

    def __init__(self, path: Path, block: int = 1024, speed: float = 8.0) -> None:
        samples, self.rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        self.samples = samples[:, :1]
        self.block = block
        self.speed = speed
        self.opened = 0
        self.finished = threading.Event()

    def __call__(self, sink: BlockSink, choice: str = "auto") -> tuple[FakeStream, int]:
        self.opened += 1
        return FakeStream(self, sink), self.rate


class FakeStream:
    def __init__(self, mic: FakeMicrophone, sink: BlockSink) -> None:
        self.mic, self.sink = mic, sink
        self.running = threading.Event()
        self.closed = False
        self.thread = threading.Thread(target=self._play, daemon=True)

    def start(self) -> None:
        self.running.set()
        self.thread.start()

    def stop(self) -> None:
        self.running.clear()
        self.thread.join(timeout=5)

    def close(self) -> None:
        self.closed = True

    def _play(self) -> None:
        buffer = np.zeros((self.mic.block, 1), np.float32)
        pause = self.mic.block / self.mic.rate / self.mic.speed
        for start in range(0, len(self.mic.samples), self.mic.block):
            if not self.running.is_set():
                return
            chunk = self.mic.samples[start : start + self.mic.block]
            buffer[: len(chunk)] = chunk
            self.sink(buffer[: len(chunk)])
            time.sleep(pause)
        self.mic.finished.set()
