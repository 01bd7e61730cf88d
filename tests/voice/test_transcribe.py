"""Speech to text with the real whisper.cpp on the committed speech fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offyai_tui.voice import audio
from offyai_tui.voice.errors import AudioError, VoiceError
from offyai_tui.voice.wer import edit_distance, word_error_rate, words
from tests.voice.conftest import DATA, REFERENCES

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["capital.wav", "miles.wav", "capital.ogg"])
def test_a_fixture_is_transcribed(transcriber, name: str) -> None:  # type: ignore[no-untyped-def]
    result = transcriber.transcribe_file(DATA / name)
    assert words(result.text) == words(REFERENCES[name]["text"]), result.text
    assert result.seconds == pytest.approx(audio.duration(audio.load(DATA / name)))
    assert result.model == "whisper-tiny.en"


def test_the_fixtures_are_mostly_understood(transcriber) -> None:  # type: ignore[no-untyped-def]
    """A broken model or decoder gives garbage, not a few slips (the rate is in bench/)."""
    edits = total = 0
    for name, reference in REFERENCES.items():
        heard = transcriber.transcribe_file(DATA / name).text
        edits += edit_distance(words(reference["text"]), words(heard))
        total += len(words(reference["text"]))
    assert edits / total < 0.3


def test_silence_gives_no_words(transcriber) -> None:  # type: ignore[no-untyped-def]
    result = transcriber.transcribe(np.zeros(16000 * 2, np.float32))
    assert len(words(result.text)) <= 2  # whisper may say "you" or "[BLANK_AUDIO]"


def test_empty_samples_are_refused(transcriber) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VoiceError, match="no audio"):
        transcriber.transcribe(np.zeros(0, np.float32))


def test_a_corrupt_file_is_an_audio_error(transcriber, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"RIFF....WAVEjunk" * 10)
    with pytest.raises(AudioError):
        transcriber.transcribe_file(bad)


def test_an_abort_stops_early(transcriber) -> None:  # type: ignore[no-untyped-def]
    long = np.concatenate([audio.load(DATA / name) for name in REFERENCES] * 3)
    result = transcriber.transcribe(long, should_stop=lambda: True)
    assert len(words(result.text)) < len(words(" ".join(r["text"] for r in REFERENCES.values())))


def test_word_error_rate_counts_edits() -> None:
    assert word_error_rate("What is the capital of France?", "what is the capital of france") == 0
    assert word_error_rate("a b c d", "a x c") == pytest.approx(0.5)
    assert word_error_rate("", "") == 0.0
    assert words("Don't-stop, OK?") == ["don't", "stop", "ok"]
