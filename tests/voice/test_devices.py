"""Microphone detection: every way of having none is one line."""

from __future__ import annotations

import builtins
import sys
import types

import pytest

from offyai_tui.voice import alsa, devices
from offyai_tui.voice.errors import NoInputDevice


class PortAudioError(Exception):
    pass


def fake_sounddevice(info: dict | None) -> types.ModuleType:
    module = types.ModuleType("sounddevice")
    module.PortAudioError = PortAudioError  # type: ignore[attr-defined]

    def query_devices(kind: str) -> dict:
        assert kind == "input"
        if info is None:
            raise PortAudioError("Error querying device -1")
        return info

    module.query_devices = query_devices  # type: ignore[attr-defined]
    return module


@pytest.fixture(autouse=True)
def plain_session(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "CI"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_alsa(monkeypatch: pytest.MonkeyPatch) -> None:
    """libasound missing too (ALSA records where PortAudio is missing: tests/voice/test_alsa.py)."""
    monkeypatch.setattr(alsa, "LIBRARY", "libasound-not-here.so.2")
    monkeypatch.setattr(alsa, "_lib", None)


def test_no_input_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(None))
    with pytest.raises(NoInputDevice, match="^no microphone: no input device found$"):
        devices.default_input()


def test_over_ssh_the_line_says_where_the_microphone_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(None))
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22")
    line = devices.describe()
    assert "over SSH" in line and "offyai transcribe" in line and "\n" not in line


def test_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(None))
    monkeypatch.setenv("CI", "true")
    assert devices.describe().endswith("(in CI)")


def test_portaudio_library_missing(monkeypatch: pytest.MonkeyPatch, no_alsa: None) -> None:
    real_import = builtins.__import__

    def no_portaudio(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    with pytest.raises(NoInputDevice, match="libportaudio2"):
        devices.default_input()


def test_sounddevice_not_installed(monkeypatch: pytest.MonkeyPatch, no_alsa: None) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(NoInputDevice, match=r"offyai-tui\[voice\]"):
        devices.default_input()


def test_a_device_that_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    info = {"name": "HDMI", "index": 3, "max_input_channels": 0, "default_samplerate": 48000.0}
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(info))
    with pytest.raises(NoInputDevice, match="HDMI records nothing"):
        devices.default_input()


def test_the_default_input(monkeypatch: pytest.MonkeyPatch) -> None:
    info = {"name": "USB mic", "index": 2, "max_input_channels": 1, "default_samplerate": 44100.0}
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(info))
    assert devices.default_input() == devices.InputDevice("USB mic", 2, 44100)
    assert devices.describe() == "USB mic (44100 Hz)"


def test_this_machine_answers_in_one_line() -> None:
    """Whatever this machine has (here: no PortAudio, or no device), the answer is a line."""
    line = devices.describe()
    assert line and "\n" not in line
