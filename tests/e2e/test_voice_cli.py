"""``offyai transcribe`` and ``offyai say`` as users run them, and their privacy audit.

The real binary with the real whisper.cpp and piper; the audit traces every process
with ``strace`` (as ``test_offline_audit`` does for a chat session) and checks that a
voice session opens no connection at all and leaves nothing outside ``OFFYAI_HOME``
and the file asked for.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import run_offyai
from tests.e2e.test_offline_audit import audit_env, require_strace, traced_cli
from tests.e2e.traffic import read_logs
from tests.voice.conftest import DATA, REFERENCES

pytestmark = pytest.mark.slow


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_transcribe_prints_what_is_said(app_home: Path, user_home: Path) -> None:
    result = run_offyai(["transcribe", str(DATA / "capital.flac")], app_home, user_home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == REFERENCES["capital.flac"]["text"]
    assert result.stderr == ""


def test_a_corrupt_file_is_one_line_and_the_others_are_still_transcribed(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00")
    alone = run_offyai(["transcribe", str(bad)], app_home, user_home)
    assert "broken.wav: not audio this decoder reads" in one_line_error(alone)
    both = run_offyai(["transcribe", str(bad), str(DATA / "poem.wav")], app_home, user_home)
    assert both.returncode == 1
    assert "Write a short poem about the sea." in both.stdout
    assert "broken.wav" in both.stderr and "Traceback" not in both.stderr


def test_a_model_path_that_is_not_a_model_is_one_line(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    result = run_offyai(
        ["transcribe", "--whisper-model", str(DATA / "poem.wav"), str(DATA / "poem.wav")],
        app_home, user_home,
    )  # fmt: skip
    assert "not a whisper.cpp ggml model" in one_line_error(result)


def test_say_writes_a_wav_that_transcribes_back(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "hello.wav"
    said = run_offyai(["say", "Good morning, how are you?", "-o", str(out)], app_home, user_home)
    assert said.returncode == 0, said.stderr
    assert "piper" in said.stderr
    heard = run_offyai(["transcribe", str(out)], app_home, user_home)
    assert heard.stdout.strip().lower().startswith("good morning")


def test_say_into_a_missing_folder_is_one_line(app_home: Path, user_home: Path) -> None:
    result = run_offyai(["say", "hi", "-o", "/nonexistent/dir/x.wav"], app_home, user_home)
    assert "/nonexistent/dir: no such folder" in one_line_error(result)


def test_doctor_reports_the_voice_parts(app_home: Path, user_home: Path) -> None:
    result = run_offyai(["doctor"], app_home, user_home, timeout=90)
    lines = [line for line in result.stdout.splitlines() if line.startswith("voice")]
    assert len(lines) == 4, result.stdout
    assert "speech to text: whisper-tiny.en (bundled" in lines[0]
    assert "text to speech: piper" in lines[1]
    assert "microphone: " in lines[2] and lines[2].endswith("(voice.input = auto)")
    assert "speakers: " in lines[3] and lines[3].endswith("(voice.output = auto)")
    as_json = json.loads(run_offyai(["doctor", "--json"], app_home, user_home, timeout=90).stdout)
    assert as_json["voice"]["speech_to_text"]["model"] == "whisper-tiny.en"
    assert as_json["voice"]["text_to_speech"]["engine"] == "piper"
    for part in ("microphone", "speakers"):
        assert set(as_json["voice"][part]) in (
            {"problem", "setting"}, {"device", "rate", "backend", "setting"}
        ), as_json["voice"]


def test_a_voice_session_sends_nothing_and_leaves_nothing_behind(
    tmp_path: Path, offyai_home: Path
) -> None:
    require_strace()
    dirs = {name: tmp_path / name for name in ("user", "tmp", "cwd", "trace", "out")}
    for path in dirs.values():
        path.mkdir()
    offyai_home.mkdir(mode=0o700)
    dirs["home"] = offyai_home
    spoken = dirs["out"] / "question.wav"
    said = traced_cli(["say", "What is the capital of France?", "-o", str(spoken)], dirs, "say")
    assert said.returncode == 0, said.stderr
    heard = traced_cli(["transcribe", str(spoken), str(DATA / "miles.wav")], dirs, "transcribe")
    assert heard.returncode == 0, heard.stderr
    assert "capital of France" in heard.stdout

    guard_log = dirs["trace"] / "guard.log"
    assert not guard_log.exists() or guard_log.read_text() == ""
    for name in ("say", "transcribe"):
        traffic = read_logs(dirs["trace"] / name)
        assert traffic.lines > 0, "the trace saw nothing"
        assert traffic.connects == [], traffic.connects  # not even loopback: no engine
        assert traffic.offsite_bytes == 0 and traffic.dns == []
    for name in ("user", "tmp", "cwd"):
        assert sorted(p.name for p in dirs[name].rglob("*")) == [], name
    assert sorted(p.name for p in dirs["out"].iterdir()) == ["question.wav"]
    assert audit_env(dirs)["TMPDIR"] == str(dirs["tmp"])


def test_say_without_a_file_plays_or_says_why_not(app_home: Path, user_home: Path) -> None:
    """This machine has no speakers (no PortAudio or no device): one line, exit 1."""
    import threading

    import numpy as np

    from offyai_tui.voice.playback import NoOutputDevice, play_on_speakers

    try:
        play_on_speakers(np.zeros(160, np.float32), 16000, threading.Event())
    except NoOutputDevice:
        pass
    else:
        pytest.skip("this machine has speakers")
    result = run_offyai(["say", "Hello there."], app_home, user_home, SSH_TTY="/dev/pts/3")
    line = one_line_error(result)
    assert line.startswith("offyai: no speakers") and "write a file with -o" in line
