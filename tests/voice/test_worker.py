"""Transcription in a child process: the result, a stop that ends it, a bad model's line."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.voice import audio, whisper_model, worker
from offyai_tui.voice.errors import VoiceError
from offyai_tui.voice.wer import words
from tests.voice.conftest import DATA, REFERENCES

pytestmark = pytest.mark.slow


def test_the_child_transcribes() -> None:
    result = worker.transcribe(audio.load(DATA / "poem.wav"), whisper_model.find(), threads=2)
    assert result is not None
    assert words(result.text) == words(REFERENCES["poem.wav"]["text"])
    assert result.seconds == pytest.approx(1.76, abs=0.01)


def test_a_stop_ends_the_child_at_once() -> None:
    long = np.concatenate([audio.load(DATA / name) for name in REFERENCES] * 4)
    started = time.monotonic()
    asked: list[float] = []

    def stop() -> bool:
        asked.append(time.monotonic())
        return len(asked) > 3

    assert worker.transcribe(long, whisper_model.find(), should_stop=stop) is None
    assert time.monotonic() - started < 5


def test_a_file_that_is_no_model_is_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "ggml-fake.bin"
    fake.write_bytes(b"lmgg" + bytes(64))  # the magic, then nothing usable: checked first
    model = whisper_model.WhisperModel(fake.name, fake, "given")
    with pytest.raises(VoiceError) as caught:
        worker.transcribe(audio.load(DATA / "poem.wav"), model)
    assert "\n" not in str(caught.value)
