"""Reading aloud: speech made in memory, played in order, stopped at once, or one line."""

from __future__ import annotations

import builtins
import shutil
import sys
import threading

import numpy as np
import pytest

from offyai_tui.voice import audio, playback
from offyai_tui.voice.playback import NoOutputDevice, Reader, SentenceFeeder, samples_for
from offyai_tui.voice.speech import find_speaker
from offyai_tui.voice.wer import words


class FakeSpeakers:
    """Collects what would be played; ``hold`` keeps a sentence 'playing' until stopped."""

    def __init__(self, hold: bool = False) -> None:
        self.played: list[tuple[np.ndarray, int]] = []
        self.hold = hold
        self.started = threading.Event()

    def __call__(self, samples: np.ndarray, rate: int, stop: threading.Event) -> None:
        self.played.append((samples, rate))
        self.started.set()
        if self.hold:
            stop.wait(10)


@pytest.mark.slow
def test_an_answer_is_read_sentence_by_sentence_as_it_streams(transcriber) -> None:  # type: ignore[no-untyped-def]
    speakers = FakeSpeakers()
    reader = Reader(find_speaker("piper"), play=speakers)
    feeder = SentenceFeeder(reader.say)
    for delta in ["The sea is ", "calm tonight. ", "Stars are out", "."]:
        feeder.feed(delta)
    feeder.finish()
    reader.wait(60)
    assert reader.error is None
    heard = [words(transcriber.transcribe(audio.to_whisper(s, r)).text) for s, r in speakers.played]
    assert heard == [["the", "sea", "is", "calm", "tonight"], ["stars", "are", "out"]]


def test_stop_silences_at_once_and_drops_the_queue() -> None:
    speakers = FakeSpeakers(hold=True)
    reader = Reader(find_speaker("piper"), play=speakers)
    reader.say("First sentence.")
    reader.say("Second sentence.")
    assert speakers.started.wait(30)
    reader.stop()
    reader.wait(5)
    assert not reader.reading
    assert len(speakers.played) == 1


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_ng_speaks_into_memory() -> None:
    samples, rate = samples_for("Hello there.", find_speaker("espeak-ng"))
    assert rate == 22050
    assert 0.5 < len(samples) / rate < 3
    assert audio.level(samples) > 0.3


def test_no_engine_is_the_readers_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(playback, "find_speaker", lambda: (_ for _ in ()).throw(
        playback.VoiceError("no text to speech: install espeak-ng")))
    reader = Reader(play=FakeSpeakers())
    reader.say("Hello.")
    reader.wait(5)
    assert str(reader.error) == "no text to speech: install espeak-ng"


def test_no_portaudio_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for PortAudio (``voice.output = "portaudio"``), its absence is the line."""
    real_import = builtins.__import__

    def no_portaudio(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    monkeypatch.setenv("SSH_TTY", "/dev/pts/1")
    with pytest.raises(NoOutputDevice) as caught:
        playback.play_on_speakers(np.zeros(10, np.float32), 16000, threading.Event(), "portaudio")
    assert "libportaudio2" in str(caught.value) and "write a file with -o" in str(caught.value)


def test_sentences_are_cut_at_their_ends_only() -> None:
    got: list[str] = []
    feeder = SentenceFeeder(got.append)
    for delta in ["Version 1.5 is out! Is it", " good? Yes:", " very.\n\n", "- a list item"]:
        feeder.feed(delta)
    assert got == ["Version 1.5 is out!", "Is it good?", "Yes:", "very."]
    feeder.finish()
    assert got[-1] == "- a list item"
