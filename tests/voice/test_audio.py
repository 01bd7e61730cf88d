"""Decoding, resampling and writing audio, on the committed fixtures and broken files."""

from __future__ import annotations

import builtins
import wave
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.voice import audio
from offyai_tui.voice.errors import AudioError
from tests.voice.conftest import DATA


def test_a_22050_hz_wav_is_resampled_to_16_khz_mono() -> None:
    with wave.open(str(DATA / "meeting.wav")) as source:
        assert source.getframerate() == 22050
        seconds = source.getnframes() / 22050
    samples = audio.load(DATA / "meeting.wav")
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert abs(audio.duration(samples) - seconds) < 0.01
    assert 0.05 < float(np.abs(samples).max()) <= 1.0


@pytest.mark.parametrize("name", ["capital.flac", "capital.ogg"])
def test_flac_and_ogg_decode_like_the_wav(name: str) -> None:
    wav = audio.load(DATA / "capital.wav")
    other = audio.load(DATA / name)
    assert abs(len(other) - len(wav)) < 2000  # OGG pads a little
    assert audio.level(other) == pytest.approx(audio.level(wav), abs=0.05)


def test_stereo_is_mixed_down(tmp_path: Path) -> None:
    import soundfile

    tone = np.sin(np.linspace(0, 2000 * np.pi, 48000)).astype(np.float32) * 0.5
    soundfile.write(str(tmp_path / "st.wav"), np.stack([tone, np.zeros_like(tone)], 1), 48000)
    samples = audio.load(tmp_path / "st.wav")
    assert len(samples) == 16000
    assert float(np.abs(samples).max()) == pytest.approx(0.25, abs=0.02)


@pytest.mark.parametrize(
    "content",
    [b"", b"RIFF\x10\x00\x00\x00WAVEfmt ", b"not audio at all, just words\n" * 40,
     bytes(range(256)) * 20],
    ids=["empty", "truncated-header", "text", "noise-bytes"],
)  # fmt: skip
def test_corrupt_audio_is_one_line(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    with pytest.raises(AudioError) as caught:
        audio.load(bad)
    message = str(caught.value)
    assert "\n" not in message
    assert str(bad) in message
    assert "WAV, FLAC" in message


def test_a_wav_with_no_frames_says_so(tmp_path: Path) -> None:
    empty = audio.write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    with pytest.raises(AudioError, match="holds no audio"):
        audio.load(empty)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no such file"):
        audio.load(tmp_path / "nope.wav")


def test_without_soundfile_plain_wav_still_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_soundfile(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "soundfile":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    with_soundfile = audio.load(DATA / "miles.wav")
    monkeypatch.setattr(builtins, "__import__", no_soundfile)
    fallback = audio.load(DATA / "miles.wav")
    assert len(fallback) == len(with_soundfile)
    assert float(np.abs(fallback - with_soundfile).max()) < 1e-3
    with pytest.raises(AudioError, match="install soundfile"):
        audio.load(DATA / "capital.flac")


def test_write_wav_round_trips(tmp_path: Path) -> None:
    samples = np.sin(np.linspace(0, 200 * np.pi, 16000)).astype(np.float32) * 0.3
    back = audio.load(audio.write_wav(tmp_path / "t.wav", samples))
    assert float(np.abs(back - samples).max()) < 1e-4


def test_level_spans_silence_to_full_scale() -> None:
    assert audio.level(np.zeros(1600, np.float32)) == 0.0
    assert audio.level(np.full(1600, 1e-4, np.float32)) == 0.0  # -80 dBFS: below the floor
    assert audio.level(np.full(1600, 0.01, np.float32)) == pytest.approx(1 / 3, abs=0.01)
    assert audio.level(np.ones(1600, np.float32)) == 1.0


def test_linear_resampling_without_soxr(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "soxr", None)
    tone = np.sin(np.linspace(0, 880 * np.pi, 44100)).astype(np.float32)
    out = audio.resample(tone, 44100, 16000)
    assert len(out) == 16000
    assert float(np.abs(out).max()) == pytest.approx(1.0, abs=0.01)
