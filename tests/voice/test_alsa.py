"""Recording through ALSA's real libasound, from its ``default`` device.

The device is ALSA's ``file`` plugin reading a speech fixture from a pipe
(:mod:`tests.voice.alsa_mic`): the samples that reach the take, the words whisper hears
in it, and the one-line errors when there is no device or no libasound.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.voice import alsa, devices
from offyai_tui.voice.errors import NoInputDevice
from offyai_tui.voice.recorder import Recorder
from offyai_tui.voice.wer import word_error_rate, words
from tests.voice.alsa_mic import AlsaMicrophone, without_portaudio
from tests.voice.conftest import DATA, REFERENCES


@pytest.fixture(autouse=True)
def _alsa_only(monkeypatch: pytest.MonkeyPatch) -> None:
    without_portaudio(monkeypatch)


def record(mic: AlsaMicrophone, monkeypatch: pytest.MonkeyPatch) -> tuple[np.ndarray, float]:
    """One take from ALSA's default device while the fixture plays; the take and peak level."""
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(mic.config))
    rec = Recorder()
    rec.start()
    peak = 0.0
    deadline = time.monotonic() + 30
    while not mic.played.is_set() and time.monotonic() < deadline:
        peak = max(peak, rec.level)
        time.sleep(0.01)
    time.sleep(0.3)  # a few blocks of silence after the words
    take = rec.stop()
    assert mic.played.is_set()
    return take, peak


def test_the_default_device_records_the_fixture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with AlsaMicrophone(tmp_path, DATA / "capital.wav", speed=4) as mic:
        take, peak = record(mic, monkeypatch)
    heard = np.round(take * 32768).astype(np.int32)
    spoken = mic.samples.astype(np.int32)
    assert len(heard) >= len(spoken) + alsa.BLOCK_FRAMES  # the words, then silence
    assert np.array_equal(heard[: len(spoken)], spoken)  # sample for sample
    assert not heard[len(spoken) :].any()
    assert peak > 0.4  # speech shows on the meter
    assert list(tmp_path.iterdir()) == [mic.fifo, mic.config]  # nothing was written


def test_cancel_closes_the_device_and_forgets_the_take(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with AlsaMicrophone(tmp_path, DATA / "capital.wav") as mic:
        monkeypatch.setenv("ALSA_CONFIG_PATH", str(mic.config))
        rec = Recorder()
        rec.start()
        deadline = time.monotonic() + 10
        while rec.level < 0.1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rec.level >= 0.1 and rec.elapsed > 0
        rec.cancel()
        assert not rec.recording and rec.take is None and rec.level == 0.0
        assert mic.closed.wait(5)  # libasound let go of the device
        assert not mic.played.is_set()  # cancelled mid-sentence


@pytest.mark.slow
@pytest.mark.parametrize(("name", "rate"), [("capital.wav", 0.0), ("meeting.wav", 0.2)])
def test_the_take_is_transcribed(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transcriber, name: str, rate: float
) -> None:
    """Heard as well as the file itself (meeting.wav's "in three" is "and free" either way)."""
    with AlsaMicrophone(tmp_path, DATA / name, speed=4) as mic:
        take, _ = record(mic, monkeypatch)
    heard = transcriber.transcribe(take).text
    assert words(heard) == words(transcriber.transcribe_file(DATA / name).text)
    assert word_error_rate(REFERENCES[name]["text"], heard) == pytest.approx(rate), heard


def test_the_device_is_named_for_doctor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with AlsaMicrophone(tmp_path, DATA / "capital.wav") as mic:
        monkeypatch.setenv("ALSA_CONFIG_PATH", str(mic.config))
        assert devices.default_input() == devices.InputDevice("ALSA default", -1, 16000, "alsa")
        assert devices.describe() == "ALSA default (16000 Hz)"


def test_no_capture_device_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "asound.conf"
    config.write_text('pcm.!default { type plug; slave.pcm "nosuch" }\n')
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(config))
    with pytest.raises(NoInputDevice) as raised:
        Recorder().start()
    line = str(raised.value)
    assert line.startswith("no microphone: ALSA could not open 'default' for recording: ")
    assert "\n" not in line
    assert devices.describe() == line
    assert capfd.readouterr().err == ""  # libasound's "ALSA lib pcm.c: Unknown PCM" is silenced


def test_without_libasound_the_line_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alsa, "LIBRARY", "libasound-not-here.so.2")
    monkeypatch.setattr(alsa, "_lib", None)
    with pytest.raises(NoInputDevice, match=r"^recording needs sounddevice: pip install"):
        Recorder().start()
