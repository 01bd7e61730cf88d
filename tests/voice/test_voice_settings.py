"""``[voice] input`` and ``output``: which sound library records and plays, checked once."""

from __future__ import annotations

import builtins
import sys

import pytest

from offyai_tui.commands.voice import doctor_lines
from offyai_tui.settings.config import ConfigError, parse_settings
from offyai_tui.voice import alsa, devices
from offyai_tui.voice.errors import NoInputDevice, NoOutputDevice


def test_the_choices_are_read() -> None:
    settings = parse_settings('[voice]\ninput = "alsa"\noutput = "portaudio"\n')
    assert (settings.voice.input, settings.voice.output) == ("alsa", "portaudio")
    assert settings.warnings == []
    assert (parse_settings("").voice.input, parse_settings("").voice.output) == ("auto", "auto")


def test_a_bad_choice_is_one_warning_and_auto_is_used() -> None:
    settings = parse_settings('[voice]\ninput = "pulse"\noutput = 3\n')
    assert (settings.voice.input, settings.voice.output) == ("auto", "auto")
    assert settings.warnings == [
        "config: voice.output: expected str, got int 3; using the default ('auto')",
        "config: voice.input must be auto, portaudio or alsa, got 'pulse'; "
        "using the default ('auto')",
    ]
    with pytest.raises(ConfigError, match="voice.input must be auto, portaudio or alsa"):
        parse_settings('[voice]\ninput = "pulse"\n', strict=True)


@pytest.fixture
def no_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    """sounddevice is installed but its PortAudio library is not (as on this machine)."""
    real_import = builtins.__import__

    def without(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", without)
    for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "CI"):
        monkeypatch.delenv(name, raising=False)


def test_auto_falls_back_to_alsa_and_portaudio_insists(no_portaudio: None) -> None:
    try:
        alsa.library()
    except alsa.AlsaMissing:
        pytest.skip("no libasound.so.2 on this machine")
    assert devices.backend() == devices.backend("alsa") == "alsa"
    assert devices.backend(output=True) == "alsa"
    with pytest.raises(NoInputDevice, match="^no microphone: the PortAudio library is not"):
        devices.backend("portaudio")
    with pytest.raises(NoOutputDevice, match="^no speakers: the PortAudio library is not"):
        devices.backend("portaudio", output=True)


def test_alsa_asked_for_but_missing_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alsa, "LIBRARY", "libasound-not-here.so.2")
    monkeypatch.setattr(alsa, "_lib", None)
    with pytest.raises(NoInputDevice) as raised:
        devices.backend("alsa")
    assert str(raised.value) == (
        "no microphone: libasound-not-here.so.2 (ALSA) is not installed (voice.input is alsa)"
    )


def test_doctor_shows_the_chosen_input_and_output() -> None:
    facts = {
        "speech_to_text": {"problem": "no model"},
        "text_to_speech": {"problem": "no engine"},
        "microphone": {"device": "ALSA default", "rate": 16000, "backend": "alsa",
                       "setting": "auto"},
        "speakers": {"problem": "no speakers: no output device found", "setting": "portaudio"},
    }
    assert doctor_lines(facts)[2:] == [
        "microphone: ALSA default (16000 Hz) through ALSA (voice.input = auto)",
        "speakers: no speakers: no output device found (voice.output = portaudio)",
    ]
