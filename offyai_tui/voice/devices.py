"""Is there a microphone? PortAudio (through ``sounddevice``) is asked, lazily, else ALSA.

Where sounddevice or the PortAudio library is missing, ALSA's libasound (on almost every
Linux machine, and what PortAudio itself uses there) records instead
(:mod:`offyai_tui.voice.alsa`). The answer is a device or one line saying why there is
none: neither library installed, no input device, or a session where a microphone
cannot be (over SSH the microphone is on the other machine; CI has none).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from offyai_tui.voice.errors import INSTALL_HINT, NoInputDevice


@dataclass(frozen=True)
class InputDevice:
    """The default input device and the rate it records at natively."""

    name: str
    index: int
    rate: int
    backend: str = "portaudio"
    """``portaudio`` (sounddevice) or ``alsa`` (libasound through ctypes)."""


def backend() -> str:
    """``portaudio`` when sounddevice loads, else ``alsa`` when libasound does; nothing is opened.

    Raises:
        NoInputDevice: neither loads (the message says what to install).
    """
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError) as err:  # no package, or the package without the library
        from offyai_tui.voice import alsa

        try:
            alsa.library()
        except alsa.AlsaMissing:
            raise _nothing_records(err) from None
        return "alsa"
    return "portaudio"


def default_input() -> InputDevice:
    """The default input device (ALSA's is opened and closed to learn that it records).

    Raises:
        NoInputDevice: there is none; the message says why in one line.
    """
    if backend() == "alsa":
        from offyai_tui.voice import alsa

        return InputDevice(name=alsa.probe(), index=-1, rate=alsa.RATE, backend="alsa")
    import sounddevice

    try:
        info = sounddevice.query_devices(kind="input")
    except (sounddevice.PortAudioError, ValueError):
        raise NoInputDevice(f"no microphone: no input device found{where()}") from None
    if int(info.get("max_input_channels", 0)) < 1:
        raise NoInputDevice(f"no microphone: {info.get('name')} records nothing{where()}")
    return InputDevice(
        name=str(info.get("name", "input")),
        index=int(info.get("index", -1)),
        rate=int(info.get("default_samplerate") or 16000),
    )


def _nothing_records(missing: Exception) -> NoInputDevice:
    """The line for a machine with neither sounddevice/PortAudio nor ALSA."""
    if isinstance(missing, ImportError):
        return NoInputDevice(f"recording needs sounddevice: {INSTALL_HINT}")
    return NoInputDevice(
        "no microphone: the PortAudio library is not installed "
        f"(apt install libportaudio2, brew install portaudio){where()}"
    )


def describe() -> str:
    """The device's name, or the reason there is none (for ``offyai doctor``)."""
    try:
        device = default_input()
    except NoInputDevice as err:
        return str(err)
    return f"{device.name} ({device.rate} Hz)"


def where(speakers: bool = False) -> str:
    """Why a microphone (or speakers) may be absent in this session, as a clause ('' if none)."""
    if any(os.environ.get(name) for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")):
        if speakers:
            return " (over SSH sound plays on this machine, not yours: write a file with -o)"
        return (
            " (over SSH the microphone is on the machine you connect from: record there "
            "and run offyai transcribe FILE)"
        )
    if os.environ.get("CI"):
        return " (in CI)"
    return ""
