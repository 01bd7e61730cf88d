"""Reading aloud through ALSA's real libasound, into its ``default`` device.

The device is ALSA's ``file`` plugin (:mod:`tests.voice.alsa_speakers`): what reaches
it must be the speech sample for sample, a stop must cut a sentence short without an
error, and every way of having no speakers is one line with libasound kept quiet.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.voice import alsa, audio, devices
from offyai_tui.voice.errors import NoOutputDevice
from offyai_tui.voice.playback import Reader, play_on_speakers, samples_for, speakers
from offyai_tui.voice.speech import find_speaker
from tests.voice.alsa_mic import without_portaudio
from tests.voice.alsa_speakers import PacedSpeakers, speakers_config
from tests.voice.conftest import DATA

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed on this machine"
)


@pytest.fixture(autouse=True)
def _alsa_only(monkeypatch: pytest.MonkeyPatch) -> None:
    without_portaudio(monkeypatch)


def pcm16(samples: np.ndarray) -> np.ndarray:
    """Float samples as the 16-bit ones the device is given."""
    return np.clip(np.round(samples * 32768), -32768, 32767).astype(np.int16)


def test_a_fixture_plays_sample_for_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "played.raw"
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(speakers_config(tmp_path, out)))
    samples = audio.load(DATA / "capital.wav")
    play_on_speakers(samples, audio.SAMPLE_RATE, threading.Event())
    played = np.fromfile(out, "<i2")
    assert len(played) == len(samples)
    assert np.array_equal(played, pcm16(samples))
    assert capfd.readouterr().err == ""


@needs_espeak
def test_a_reader_plays_each_sentence_as_spoken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "played.raw"
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(speakers_config(tmp_path, out)))
    speaker = find_speaker("espeak-ng")
    reader = Reader(speaker, play=speakers("alsa"))
    reader.say("The sea is calm tonight.")
    reader.wait(60)
    assert reader.error is None
    spoken, rate = samples_for("The sea is calm tonight.", speaker)
    assert rate == 22050  # played at the voice's own rate: nothing resampled
    assert np.array_equal(np.fromfile(out, "<i2"), pcm16(spoken))


def test_a_stop_mid_sentence_cuts_it_short_without_an_error(tmp_path: Path) -> None:
    samples = audio.load(DATA / "meeting.wav")
    rate = audio.SAMPLE_RATE
    stop = threading.Event()
    errors: list[BaseException] = []

    def play() -> None:
        try:
            play_on_speakers(samples, rate, stop, "alsa")
        except BaseException as err:  # the test reports whatever it was
            errors.append(err)

    with PacedSpeakers(tmp_path, rate) as device:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("ALSA_CONFIG_PATH", str(device.config))
            player = threading.Thread(target=play)
            player.start()
            assert device.started.wait(10)
            time.sleep(0.3)
            asked = time.monotonic()
            stop.set()
            player.join(5)
            took = time.monotonic() - asked
        assert device.closed.wait(10)
    assert not player.is_alive() and errors == []
    assert took < 1.0  # a stop is heard at once, not at the end of the sentence
    heard = device.samples
    assert 0 < len(heard) < len(samples) * 0.8
    assert np.array_equal(heard, pcm16(samples)[: len(heard)])


def test_no_playback_device_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "asound.conf"
    config.write_text('pcm.!default { type plug; slave.pcm "nosuch" }\n')
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(config))
    with pytest.raises(NoOutputDevice) as raised:
        play_on_speakers(np.zeros(160, np.float32), 16000, threading.Event())
    line = str(raised.value)
    assert line == (
        "no speakers: ALSA could not open 'default' for playing: No such file or directory"
    )
    with pytest.raises(NoOutputDevice, match="^no speakers: ALSA could not open"):
        devices.default_output()
    assert capfd.readouterr().err == ""  # libasound's "ALSA lib pcm.c: Unknown PCM" is silenced


def test_the_reader_reports_no_speakers_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "asound.conf"
    config.write_text('pcm.!default { type plug; slave.pcm "nosuch" }\n')
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(config))
    monkeypatch.setenv("SSH_TTY", "/dev/pts/1")
    reader = Reader(find_speaker(), play=speakers())
    reader.say("Hello.")
    reader.wait(60)
    line = str(reader.error)
    assert line.startswith("no speakers: ALSA could not open 'default' for playing")
    assert line.endswith("(over SSH sound plays on this machine, not yours: write a file with -o)")


def test_the_speakers_are_named_for_doctor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(speakers_config(tmp_path, tmp_path / "x.raw")))
    assert devices.default_output() == devices.Device("ALSA default", -1, 0, "alsa")
    assert devices.default_output("alsa").backend == "alsa"


def test_without_libasound_the_line_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alsa, "LIBRARY", "libasound-not-here.so.2")
    monkeypatch.setattr(alsa, "_lib", None)
    silence = np.zeros(160, np.float32)
    with pytest.raises(NoOutputDevice, match=r"^playing sound needs sounddevice: pip install"):
        play_on_speakers(silence, 16000, threading.Event())
    with pytest.raises(NoOutputDevice) as raised:
        play_on_speakers(silence, 16000, threading.Event(), "alsa")
    assert str(raised.value) == (
        "no speakers: libasound-not-here.so.2 (ALSA) is not installed (voice.output is alsa)"
    )
