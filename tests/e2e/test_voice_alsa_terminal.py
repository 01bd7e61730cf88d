"""Push to talk in a real terminal, and ``offyai say`` aloud, through ALSA's libasound.

The real ``offyai`` binary runs (in tmux for the chat) with ALSA's whole configuration
replaced (``ALSA_CONFIG_PATH``): its ``default`` device is the ``file`` plugin hearing a
speech fixture through a pipe (:mod:`tests.voice.alsa_mic`), or writing what is played
into a file (:mod:`tests.voice.alsa_speakers`). Alt+V records, Enter stops; the real
whisper.cpp child transcribes, the words land in the prompt box, and Enter sends them.
``offyai say`` plays what ``offyai say -o`` writes, and Ctrl+C cuts it short.
``offyai doctor`` names the devices, or says in one line that there is no card. Where
sounddevice loads, the app uses PortAudio instead, and the tests are skipped.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.voice import alsa, audio
from offyai_tui.voice.wer import words
from tests.e2e.conftest import run_offyai, start_tui, wait_ready
from tests.e2e.scripted_ollama import scripted_ollama
from tests.tmux import OFFYAI, base_env
from tests.voice.alsa_mic import AlsaMicrophone
from tests.voice.alsa_speakers import PacedSpeakers, speakers_config
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
    assert microphone(result.stdout) == (
        "microphone: ALSA default (16000 Hz) through ALSA (voice.input = auto)"
    ), result.stdout
    assert "ALSA lib" not in result.stderr


def test_without_a_sound_card_alsa_is_one_line(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    config = tmp_path / "asound.conf"
    config.write_text('pcm.!default { type plug; slave.pcm "nosuch" }\n')  # libasound complains
    result = run_offyai(["doctor"], app_home, user_home, timeout=90, ALSA_CONFIG_PATH=config)
    assert microphone(result.stdout) == (
        "microphone: no microphone: ALSA could not open 'default' for recording: "
        "No such file or directory (voice.input = auto)"
    ), result.stdout
    assert "ALSA lib" not in result.stderr  # libasound's own messages are silenced


def wav_samples(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit mono WAV's samples and rate."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        return np.frombuffer(wav.readframes(wav.getnframes()), "<i2"), wav.getframerate()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_say_plays_what_say_o_writes(app_home: Path, user_home: Path, tmp_path: Path) -> None:
    text = "The sea is calm tonight."
    played = tmp_path / "played.raw"
    config = speakers_config(tmp_path, played)
    aloud = run_offyai(["say", "--engine", "espeak-ng", text], app_home, user_home,
                       timeout=90, ALSA_CONFIG_PATH=config)  # fmt: skip
    assert (aloud.returncode, aloud.stderr) == (0, ""), aloud.stderr  # libasound is quiet
    written = tmp_path / "said.wav"
    to_file = run_offyai(["say", "--engine", "espeak-ng", text, "-o", str(written)],
                         app_home, user_home, timeout=90)  # fmt: skip
    assert to_file.returncode == 0, to_file.stderr
    samples, rate = wav_samples(written)
    assert rate == 22050 and len(samples) > rate  # a second and more of speech
    assert np.array_equal(np.fromfile(played, "<i2"), samples)


def test_say_with_piper_plays_the_words(app_home: Path, user_home: Path, tmp_path: Path) -> None:
    """Piper's speech differs a little on every run: what was played is transcribed."""
    played = tmp_path / "played.raw"
    config = speakers_config(tmp_path, played)
    aloud = run_offyai(["say", "--engine", "piper", "Open the pod bay doors."], app_home,
                       user_home, timeout=120, ALSA_CONFIG_PATH=config)  # fmt: skip
    assert (aloud.returncode, aloud.stderr) == (0, ""), aloud.stderr
    heard = np.fromfile(played, "<i2").astype(np.float32) / 32768
    assert len(heard) > 22050
    as_wav = audio.write_wav(tmp_path / "heard.wav", audio.to_whisper(heard, 22050))
    said = run_offyai(["transcribe", str(as_wav)], app_home, user_home, timeout=120)
    assert words(said.stdout) == ["open", "the", "pod", "bay", "doors"], said.stderr


def test_ctrl_c_stops_say_mid_sentence(app_home: Path, user_home: Path, tmp_path: Path) -> None:
    with PacedSpeakers(tmp_path, 22050) as speakers:
        env = base_env(user_home, OFFYAI_HOME=app_home, ALSA_CONFIG_PATH=speakers.config)
        say = subprocess.Popen(
            [str(OFFYAI), "say", "--engine", "piper",
             "A long sentence that goes on and on about the sea, the sky and the stars "
             "above the quiet harbour, while the boats rock slowly in the dark."],
            env=env, cwd=user_home, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert speakers.started.wait(60)
            time.sleep(0.5)
            asked = time.monotonic()
            say.send_signal(signal.SIGINT)
            _, stderr = say.communicate(timeout=10)
            took = time.monotonic() - asked
        finally:
            say.kill()
        assert speakers.closed.wait(10)
    assert say.returncode == 130 and stderr.strip() == "stopped", stderr
    assert took < 3
    assert 0 < len(speakers.samples) < 22050 * 5  # the sentence is longer than what was heard


def test_alt_r_reads_through_alsa_and_esc_stops_mid_sentence(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    answer = ("The sea is calm tonight, and the boats rock slowly in the quiet harbour "
              "while the stars come out one by one above the dark water.")
    with (
        PacedSpeakers(tmp_path, 22050) as speakers,
        scripted_ollama([answer]) as server,
        start_tui(app_home, user_home, OLLAMA_HOST=server.host, **speakers.env) as tui,
    ):
        wait_ready(tui, model="scripted")
        tui.submit("Describe the sea.")
        tui.wait_for("tok/s")
        tui.send_bytes(b"\x1br")  # Alt+R
        assert speakers.started.wait(60), tui.screen()
        time.sleep(0.5)
        tui.send("Escape")
        assert speakers.closed.wait(10), tui.screen()
        time.sleep(0.5)  # a warning would show by now
        screen = tui.screen()
        assert "no speakers" not in screen and "stopped" not in screen, screen
    assert 0 < len(speakers.samples) < 22050 * 5  # the sentence is longer than what was heard


def test_the_settings_choose_the_library(app_home: Path, user_home: Path, tmp_path: Path) -> None:
    """``voice.output = "portaudio"`` insists: without it, one line, even though ALSA works."""
    played = tmp_path / "played.raw"
    config = speakers_config(tmp_path, played)
    settings = app_home / "config" / "config.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('[voice]\ninput = "alsa"\noutput = "portaudio"\n')
    said = run_offyai(["say", "--engine", "espeak-ng", "Hello there."], app_home, user_home,
                      timeout=90, ALSA_CONFIG_PATH=config)  # fmt: skip
    assert said.returncode == 1 and not played.exists(), said.stderr
    assert said.stderr.strip().startswith(
        "offyai: no speakers: the PortAudio library is not installed"
    ), said.stderr
    doctor = run_offyai(["doctor"], app_home, user_home, timeout=90, ALSA_CONFIG_PATH=config)
    lines = [line.split(None, 1)[1] for line in doctor.stdout.splitlines()
             if line.startswith("voice") and ("microphone" in line or "speakers" in line)]
    assert lines[0] == "microphone: ALSA default (16000 Hz) through ALSA (voice.input = alsa)"
    assert lines[1].startswith("speakers: no speakers: the PortAudio library is not installed")
    assert lines[1].endswith("(voice.output = portaudio)"), doctor.stdout
