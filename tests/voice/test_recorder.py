"""Recording through a fake input device: level, elapsed time, cancel, save on request only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offyai_tui.voice import audio, recorder
from offyai_tui.voice.errors import NoInputDevice, VoiceError
from offyai_tui.voice.recorder import Recorder
from offyai_tui.voice.wer import words
from tests.voice.conftest import DATA, REFERENCES
from tests.voice.fake_mic import FakeMicrophone


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.slow
def test_a_take_is_the_spoken_prompt(tmp_path: Path, transcriber) -> None:  # type: ignore[no-untyped-def]
    mic = FakeMicrophone(DATA / "meeting.wav")  # 22 050 Hz: resampled on stop
    rec = Recorder(mic)
    rec.start()
    levels = []
    while not mic.finished.wait(0.02):
        levels.append(rec.level)
    take = rec.stop()
    assert max(levels) > 0.4  # speech shows on the meter
    assert rec.level == 0.0
    assert audio.duration(take) == pytest.approx(audio.duration(audio.load(DATA / "meeting.wav")),
                                                 abs=0.01)
    heard = transcriber.transcribe(take).text
    assert len(set(words(heard)) & set(words(REFERENCES["meeting.wav"]["text"]))) >= 7, heard
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_elapsed_time_runs_while_recording_and_stays_after() -> None:
    clock = Clock()
    rec = Recorder(FakeMicrophone(DATA / "capital.wav", speed=1000), clock=clock)
    assert rec.elapsed == 0.0
    rec.start()
    clock.now += 2.5
    assert rec.elapsed == pytest.approx(2.5)
    rec.stop()
    clock.now += 10
    assert rec.elapsed == pytest.approx(2.5)


def test_cancel_forgets_the_take() -> None:
    mic = FakeMicrophone(DATA / "capital.wav", speed=1000)
    rec = Recorder(mic)
    rec.start()
    mic.finished.wait(5)
    rec.cancel()
    assert rec.take is None and not rec.recording
    with pytest.raises(VoiceError, match="no recording to save"):
        rec.save(Path("never.wav"))


def test_save_writes_only_when_asked(tmp_path: Path) -> None:
    mic = FakeMicrophone(DATA / "capital.wav", speed=1000)
    rec = Recorder(mic)
    rec.start()
    mic.finished.wait(5)
    take = rec.stop()
    assert list(tmp_path.iterdir()) == []
    saved = rec.save(tmp_path / "prompt.wav")
    assert np.abs(audio.load(saved) - take).max() < 1e-3


def test_blocks_past_the_limit_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "MAX_SECONDS", 0.5)
    mic = FakeMicrophone(DATA / "capital.wav", speed=1000)  # 1.7 s of speech
    rec = Recorder(mic)
    rec.start()
    mic.finished.wait(5)
    assert audio.duration(rec.stop()) == pytest.approx(0.5, abs=0.07)


def test_starting_twice_is_refused_and_no_device_is_one_line() -> None:
    rec = Recorder(FakeMicrophone(DATA / "capital.wav", speed=1000))
    rec.start()
    with pytest.raises(VoiceError, match="already recording"):
        rec.start()
    rec.cancel()

    def no_mic(sink: recorder.BlockSink) -> tuple[recorder.InputStream, int]:
        raise NoInputDevice("no microphone: no input device found")

    rec = Recorder(no_mic)
    with pytest.raises(NoInputDevice):
        rec.start()
    assert not rec.recording
