"""Speech to text with whisper.cpp (through pywhispercpp), on samples or a file.

The model is loaded once per :class:`Transcriber` (tiny.en: about 0.1 s) and samples
are handed over as a numpy array, so pywhispercpp never reads files itself (it would
call ``ffmpeg`` for anything but WAV) and never resolves a model name (it would
download one).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offyai_tui.voice import audio
from offyai_tui.voice.errors import INSTALL_HINT, VoiceError
from offyai_tui.voice.whisper_model import WhisperModel, check, find

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Transcript:
    """What was heard; ``seconds`` of audio took ``elapsed`` seconds to transcribe."""

    text: str
    segments: tuple[str, ...]
    seconds: float
    elapsed: float
    model: str


class Transcriber:
    """One loaded whisper model; :meth:`transcribe` may be called many times."""

    def __init__(self, model: WhisperModel | None = None, threads: int | None = None) -> None:
        """Load ``model`` (default: :func:`whisper_model.find`).

        Raises:
            VoiceError: pywhispercpp is not installed, or no model can be found or loaded.
        """
        self.model = model or find()
        check(self.model.path)  # a damaged file would crash whisper.cpp, not fail to load
        try:
            from pywhispercpp.model import Model
        except ImportError:
            raise VoiceError(f"speech to text needs pywhispercpp: {INSTALL_HINT}") from None
        threads = threads or min(4, os.cpu_count() or 1)
        try:
            self._whisper: Any = Model(
                str(self.model.path),
                redirect_whispercpp_logs_to=_log_target(),
                print_progress=False,
                print_realtime=False,
                print_timestamps=False,
                n_threads=threads,
            )
        except Exception as err:  # the binding raises plain Exception for a bad file
            raise VoiceError(f"{self.model.path}: the whisper model did not load ({err})") from None
        self._language = "auto" if self._multilingual() else "en"

    def transcribe(
        self, samples: np.ndarray, should_stop: Callable[[], bool] | None = None
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 ``samples``; ``should_stop`` returning true aborts.

        Raises:
            VoiceError: the samples are empty.
        """
        if samples.size == 0:
            raise VoiceError("there is no audio to transcribe")
        started = time.perf_counter()
        segments = self._whisper.transcribe(
            samples, language=self._language, abort_callback=should_stop
        )
        parts = tuple(text for s in segments if (text := s.text.strip()))
        return Transcript(
            text=" ".join(parts),
            segments=parts,
            seconds=audio.duration(samples),
            elapsed=time.perf_counter() - started,
            model=self.model.name,
        )

    def transcribe_file(self, path: Path) -> Transcript:
        """Decode ``path`` (see :func:`audio.load`) and transcribe it.

        Raises:
            AudioError: the file is missing, unreadable or empty.
        """
        return self.transcribe(audio.load(path))

    def _multilingual(self) -> bool:
        try:
            import _pywhispercpp as pw

            return bool(pw.whisper_is_multilingual(self._whisper._ctx))
        except (ImportError, AttributeError, TypeError):
            return not self.model.name.endswith((".en", ".en.bin"))


def _log_target() -> bool | None:
    """Drop whisper.cpp's loader chatter (pywhispercpp points file descriptor 2 at
    /dev/null while loading), unless stderr is not a real file: then leave it be."""
    import sys

    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return None
