"""Is there a microphone, or speakers? PortAudio (``sounddevice``) is asked, lazily, else ALSA.

Where sounddevice or the PortAudio library is missing, ALSA's libasound (on almost every
Linux machine, and what PortAudio itself uses there) records and plays instead
(:mod:`offyai_tui.voice.alsa`); ``voice.input`` and ``voice.output`` can insist on one
of the two. The answer is a device or one line saying why there is none: the library
not installed, no device, or a session where a microphone cannot be (over SSH the
microphone is on the other machine; CI has none).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from offyai_tui.voice.errors import INSTALL_HINT, NoInputDevice, NoOutputDevice, VoiceError

NAMES = {"portaudio": "PortAudio", "alsa": "ALSA"}
"""How each backend is written in a line for the user."""


@dataclass(frozen=True)
class Device:
    """The default input (or output) device and the rate it works at natively."""

    name: str
    index: int
    rate: int
    """Samples per second; 0 for ALSA's output, which is opened at each voice's own rate."""
    backend: str = "portaudio"
    """``portaudio`` (sounddevice) or ``alsa`` (libasound through ctypes)."""


InputDevice = Device


def backend(choice: str = "auto", *, output: bool = False) -> str:
    """``portaudio`` or ``alsa``, as ``choice`` asks; nothing is opened.

    ``auto`` is PortAudio when sounddevice loads, else ALSA when libasound does; a
    named one must load itself, so a setting that insists is never quietly ignored.

    Raises:
        NoInputDevice: (``output`` false) the library asked for, or for ``auto`` both, is
            missing; the message says what to install. NoOutputDevice for ``output``.
    """
    missing: Exception | None = None
    if choice != "alsa":
        try:
            import sounddevice  # noqa: F401
        except (ImportError, OSError) as err:  # no package, or the package without the library
            missing = err
        else:
            return "portaudio"
    from offyai_tui.voice import alsa

    if choice == "portaudio" and missing is not None:
        raise _no_portaudio(missing, output)
    try:
        alsa.library()
    except alsa.AlsaMissing as err:
        if missing is not None:
            raise _no_portaudio(missing, output) from None
        setting = "voice.output" if output else "voice.input"
        raise _error(output)(f"{_none(output)}: {err} ({setting} is alsa)") from None
    return "alsa"


def default_input(choice: str = "auto") -> Device:
    """The default input device (ALSA's is opened and closed to learn that it records).

    Raises:
        NoInputDevice: there is none; the message says why in one line.
    """
    if backend(choice) == "alsa":
        from offyai_tui.voice import alsa

        return Device(name=alsa.probe(), index=-1, rate=alsa.RATE, backend="alsa")
    return _portaudio_default(output=False)


def default_output(choice: str = "auto") -> Device:
    """The default output device, for ``offyai doctor`` (ALSA's is opened and closed).

    Raises:
        NoOutputDevice: there is none; the message says why in one line.
    """
    if backend(choice, output=True) == "alsa":
        from offyai_tui.voice import alsa

        return Device(alsa.probe(playback=True), -1, 0, backend="alsa")  # 0: the voice's rate
    return _portaudio_default(output=True)


def _portaudio_default(output: bool) -> Device:
    """PortAudio's default input or output device, or one line saying why there is none."""
    import sounddevice

    kind = "output" if output else "input"
    session = where(speakers=output)
    try:
        info = sounddevice.query_devices(kind=kind)
    except (sounddevice.PortAudioError, ValueError):
        raise _error(output)(f"{_none(output)}: no {kind} device found{session}") from None
    if int(info.get(f"max_{kind}_channels", 0)) < 1:
        does = "plays" if output else "records"
        raise _error(output)(f"{_none(output)}: {info.get('name')} {does} nothing{session}")
    return Device(
        name=str(info.get("name", kind)),
        index=int(info.get("index", -1)),
        rate=int(info.get("default_samplerate") or (48000 if output else 16000)),
    )


def _error(output: bool) -> type[VoiceError]:
    return NoOutputDevice if output else NoInputDevice


def _none(output: bool) -> str:
    return "no speakers" if output else "no microphone"


def _no_portaudio(missing: Exception, output: bool) -> VoiceError:
    """The line for a machine without sounddevice or its PortAudio library."""
    if isinstance(missing, ImportError):
        needs = "playing sound" if output else "recording"
        return _error(output)(f"{needs} needs sounddevice: {INSTALL_HINT}")
    return _error(output)(
        f"{_none(output)}: the PortAudio library is not installed "
        f"(apt install libportaudio2, brew install portaudio){where(speakers=output)}"
    )


def describe(choice: str = "auto") -> str:
    """The input device's name, or the reason there is none."""
    try:
        device = default_input(choice)
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
