"""Voice on this machine: speech to text with whisper.cpp, text to speech, the microphone.

Nothing here reaches the network and nothing is downloaded: the whisper model is built
from a package's data or put in the models directory by the user, and recordings stay
in memory unless the user saves them. Every audio library (numpy, soundfile, soxr,
pywhispercpp, piper, sounddevice) is imported on first use, so importing the app does
not load them. A problem the user can fix is a :class:`VoiceError` whose message is one
line saying what to do.
"""

from __future__ import annotations

from offyai_tui.voice.errors import VoiceError

__all__ = ["VoiceError"]
