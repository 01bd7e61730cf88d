"""Push to talk in a real terminal, recording through ALSA's libasound.

The real ``offyai`` binary runs in tmux with ALSA's whole configuration replaced
(``ALSA_CONFIG_PATH``): its ``default`` device is the ``file`` plugin hearing a speech
fixture through a pipe (:mod:`tests.voice.alsa_mic`). Alt+V records, Enter stops; the
real whisper.cpp child transcribes, the words land in the prompt box, and Enter sends
them. ``offyai doctor`` names the device, or says in one line that there is no card.
Where sounddevice loads, the app records through PortAudio instead, and the test
is skipped.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from offyai_tui.voice import alsa
from tests.e2e.conftest import run_offyai, start_tui, wait_ready
from tests.e2e.scripted_ollama import scripted_ollama
from tests.voice.alsa_mic import AlsaMicrophone
from tests.voice.conftest import DATA

pytestmark = pytest.mark.slow


def microphone(doctor: str) -> str:
    """Doctor's microphone line, without the section column."""
    (line,) = [line for line in doctor.splitlines() if " microphone: " in line]
    return line.split(None, 1)[1]


@pytest.fixture(autouse=True)
def alsa_records() -> None:
    try:
        import sounddevice  # noqa: F401

        pytest.skip("sounddevice loads here: the app records through PortAudio")
    except (ImportError, OSError):
        pass
    try:
        alsa.library()
    except alsa.AlsaMissing:
        pytest.skip("no libasound.so.2 on this machine")


def test_push_to_talk_through_alsa_puts_the_words_in_the_prompt(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    with (
        AlsaMicrophone(tmp_path, DATA / "capital.wav") as mic,
        scripted_ollama(["Paris."]) as server,
        start_tui(app_home, user_home, OLLAMA_HOST=server.host, **mic.env) as tui,
    ):
        wait_ready(tui, model="scripted")
        tui.type("Quiz:")
        tui.send_bytes(b"\x1bv")  # Alt+V
        tui.wait_for("Recording")
        tui.wait_until(lambda screen: "█" in screen, "the level meter moving", 10)
        assert mic.played.wait(30), tui.screen()
        time.sleep(0.3)  # a little silence after the words
        tui.send("Enter")  # stop and transcribe
        screen = tui.wait_for("Quiz: What is the capital of France?", timeout=90)
        assert "Recording" not in screen and "Transcribing" not in screen
        assert not server.chats  # for review: nothing was sent yet
        tui.send("Enter")
        tui.wait_for("Paris.")
        sent = server.chats[-1]["messages"][-1]
        assert sent["role"] == "user" and sent["content"] == "Quiz: What is the capital of France?"
    assert mic.openings == 1


def test_doctor_names_the_alsa_device(app_home: Path, user_home: Path, tmp_path: Path) -> None:
    with AlsaMicrophone(tmp_path, DATA / "capital.wav") as mic:
        result = run_offyai(["doctor"], app_home, user_home, timeout=90, **mic.env)
    assert microphone(result.stdout) == "microphone: ALSA default (16000 Hz)", result.stdout
    assert "ALSA lib" not in result.stderr


def test_without_a_sound_card_alsa_is_one_line(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    config = tmp_path / "asound.conf"
    config.write_text('pcm.!default { type plug; slave.pcm "nosuch" }\n')  # libasound complains
    result = run_offyai(["doctor"], app_home, user_home, timeout=90, ALSA_CONFIG_PATH=config)
    assert microphone(result.stdout) == (
        "microphone: no microphone: ALSA could not open 'default' for recording: "
        "No such file or directory"
    ), result.stdout
    assert "ALSA lib" not in result.stderr  # libasound's own messages are silenced
