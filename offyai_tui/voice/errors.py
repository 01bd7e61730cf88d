"""The one error type of the voice package: its message is the line the user sees."""

from __future__ import annotations

INSTALL_HINT = "pip install 'offyai-tui[voice]'"
"""What installs every voice dependency (``make setup`` does it)."""


class VoiceError(Exception):
    """Voice cannot do what was asked; ``str()`` is one line saying why and what to do."""


class AudioError(VoiceError):
    """A file is not audio the decoder reads, or holds no sound."""


class ModelMissing(VoiceError):
    """No whisper model is installed or in the models directory."""


class NoInputDevice(VoiceError):
    """No microphone can be opened (none, over SSH, in CI, neither PortAudio nor ALSA)."""


class NoOutputDevice(VoiceError):
    """Nothing can play sound here (no speakers, over SSH, neither PortAudio nor ALSA)."""


class SpeechUnavailable(VoiceError):
    """No text-to-speech engine is installed."""
