"""The voice keys in a real terminal (tmux, the real binary, Alt keys as ESC + letter).

This machine has no microphone and no speakers (no PortAudio library, or no device):
Alt+V says so in one line and opens no dialog; Alt+R reads the answer with espeak-ng or
piper and, having no speakers, says that in one line. On a machine with sound devices
these checks do not apply and the test is skipped.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from offyai_tui.voice import devices
from offyai_tui.voice.errors import VoiceError
from offyai_tui.voice.playback import NoOutputDevice, play_on_speakers
from tests.e2e.conftest import start_tui, wait_ready
from tests.e2e.scripted_ollama import scripted_ollama

pytestmark = pytest.mark.slow


def test_voice_keys_without_sound_devices_are_one_line(app_home, user_home) -> None:
    try:
        devices.default_input()
        pytest.skip("this machine has a microphone")
    except VoiceError:
        pass
    try:
        play_on_speakers(np.zeros(16, np.float32), 16000, threading.Event())
        pytest.skip("this machine has speakers")
    except NoOutputDevice:
        pass
    with (
        scripted_ollama(["The sea is calm tonight."]) as server,
        start_tui(app_home, user_home, OLLAMA_HOST=server.host) as tui,
    ):
        wait_ready(tui, model="scripted")
        tui.send_bytes(b"\x1bv")  # Alt+V
        tui.wait_for("no microphone")
        assert "Recording" not in tui.screen()
        tui.submit("Describe the sea.")
        tui.wait_for("tok/s")
        tui.send_bytes(b"\x1br")  # Alt+R
        tui.wait_for("no speakers", timeout=60)
